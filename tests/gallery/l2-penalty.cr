# xfail draw-backward: engine core: the backward view crashes on the gradient of a vector sum (an array constant compared with 1 when the gradient graph is written)
w = [0.5, -1, 2]
λ = 0.1
L = λ * sum(w * w)
