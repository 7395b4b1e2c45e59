x = 1.5
w = -1
b = 2
h = relu(w * x + b)
L = h^2
