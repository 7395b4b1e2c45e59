a = 2
b = 5
f = max(a, b)
