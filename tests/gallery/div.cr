a = 3
b = 4
f = a / b
