# xfail draw-backward: engine core: the backward view crashes on W @ x (the gradient graph of a matrix-vector product needs outer)
W = [[1, 2], [3, 4]]
x = [1, -1]
y = sum(W @ x)
