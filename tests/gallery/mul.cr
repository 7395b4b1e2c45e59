a = 2
b = -3
f = a * b
