x = 2
f = sin(x) / x
