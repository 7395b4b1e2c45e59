a = 2
b = 5
f = min(a, b) * a
