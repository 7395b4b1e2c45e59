a = 1
a = a * 3
a = a - 1
f = a^2
