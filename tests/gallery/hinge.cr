s = 0.3
y = 1
L = max(0, 1 - y * s)
