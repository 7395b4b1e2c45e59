x = [1, 2]
b = 5
f = sum(x * b + b)
