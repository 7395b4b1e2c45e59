# xfail draw-backward: engine core: the backward view crashes on W @ x (the gradient graph of a matrix-vector product needs outer)
x = [1, 0.5]
W1 = [[0.2, -0.4], [0.7, 0.1]]
b1 = [0.1, -0.2]
h = σ(W1 @ x + b1)
v = [0.6, -0.3]
c = 0.05
ŷ = σ(v @ h + c)
y = 1
L = (ŷ - y)^2
