x = 1
f = x * exp(-x)
