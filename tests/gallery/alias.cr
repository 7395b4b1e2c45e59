# An alias: y = x gives x a second name; every output shows it.
x = 3
y = x
z = 2*y + x
