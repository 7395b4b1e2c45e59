# A 2-layer network on one example, softmax cross-entropy loss on class 2.
x = [1, -0.5]
W1 = [[0.3, -0.2], [0.8, 0.4], [-0.5, 0.6]]
b1 = [0.1, 0, -0.1]
h = relu(W1 @ x + b1)
W2 = [[0.2, -0.7, 0.5], [0.6, 0.1, -0.3], [-0.4, 0.9, 0.2]]
b2 = [0, 0.05, -0.05]
z = W2 @ h + b2
L = cross_entropy(z, 2)
