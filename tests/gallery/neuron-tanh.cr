x = 2
w = -0.5
b = 0.1
h = tanh(w * x + b)
L = (h - 0.5)^2
