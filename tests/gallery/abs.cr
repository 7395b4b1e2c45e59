x = -3
f = abs(x)
