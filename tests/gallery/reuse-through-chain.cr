x = 0.5
u = sin(x)
v = cos(x)
f = u * v + u
