x = 1
f = sin(x)
