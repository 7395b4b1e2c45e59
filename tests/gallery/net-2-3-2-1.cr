# xfail draw-backward: engine core: the backward view crashes on W @ x (the gradient graph of a matrix-vector product needs outer)
x = [0.5, -1]
W1 = [[0.1, 0.4], [-0.3, 0.2], [0.5, -0.6]]
b1 = [0, 0.1, -0.1]
h1 = tanh(W1 @ x + b1)
W2 = [[0.3, -0.2, 0.1], [0.4, 0.5, -0.3]]
b2 = [0.05, -0.05]
h2 = relu(W2 @ h1 + b2)
v = [0.7, -0.4]
ŷ = σ(v @ h2)
y = 0
L = bce(ŷ, y)
