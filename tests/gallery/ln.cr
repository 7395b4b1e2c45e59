x = 3
f = ln(x) * 2
