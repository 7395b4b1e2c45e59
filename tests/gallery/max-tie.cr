a = 3
b = 3
f = max(a, b)
