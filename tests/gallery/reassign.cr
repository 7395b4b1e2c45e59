x = 2
x = x + 1
y = x * x
