a = 2
b = 1
c = a + b
d = b + 1
e = c * d
