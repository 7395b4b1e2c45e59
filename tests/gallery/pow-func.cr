x = 1.5
f = pow(x, 2)
