# A matrix used twice: its gradient is the sum of what both uses pass back.
W = [[1, -0.5], [0.25, 2]]
x = [1, 2]
h = W @ x
L = sum(W @ h)
