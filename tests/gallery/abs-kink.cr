x = 0
f = abs(x) * 2
