# xfail draw-backward: engine core: the backward view crashes on the gradient of a vector sum (an array constant compared with 1 when the gradient graph is written)
a = [1, 5]
b = [3, 2]
f = sum(max(a, b) - min(a, b))
