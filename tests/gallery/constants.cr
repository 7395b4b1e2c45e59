r = 2
area = π * r^2 + e
