x = 1
e = exp(x)
f = e * x
