# Augmented assignment: x += 1 gives the name x again, as x = x + 1 does.
x = 3
w = 0.5
x += 1
x *= w
L = x ** 2
