x = 2
f = log(x)
