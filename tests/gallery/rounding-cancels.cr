# 0.1 + 0.2 − 0.3 is 5.6e-17 in floating point: shown as zero up to rounding, exact mode has 0.
a = 0.1
b = 0.2
c = 0.3
d = a + b - c
L = d * 3 + d * a
