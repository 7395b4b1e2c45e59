x = 1
f = cos(x)
