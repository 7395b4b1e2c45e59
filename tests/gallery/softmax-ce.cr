# xfail draw-backward: engine core: the backward view crashes on the gradient of a vector sum (an array constant compared with 1 when the gradient graph is written)
z = [2, 1, 0.1]
p = exp(z) / sum(exp(z))
L = -log(p[0])
