x = 0.5
f = exp(x)
