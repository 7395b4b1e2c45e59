x = 3
f = x^3
