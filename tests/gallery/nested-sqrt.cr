x = 3
y = 4
r = sqrt(x^2 + y^2)
