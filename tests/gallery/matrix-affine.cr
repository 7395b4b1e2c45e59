# A layer on one vector: W @ x + b, then a loss. dL/dW is the outer product dL/dz ⊗ x.
W = [[0.5, -1], [2, 0.25]]
x = [1, 2]
b = [0.1, -0.3]
z = W @ x + b
L = sum(tanh(z))
