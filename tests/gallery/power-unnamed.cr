# An unnamed power: dL/d(y²) is a first derivative, bracketed so it never reads as a second.
x = 3
y = x*2
L = y**2 + 1
