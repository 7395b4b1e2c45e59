a = 1/3
b = 2/5
f = a * b + a / b
