r = 0.5
L = sqrt(1 + r^2) - 1
