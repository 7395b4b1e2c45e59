x = 9
f = sqrt(x)
