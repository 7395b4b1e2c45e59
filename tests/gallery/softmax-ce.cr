z = [2, 1, 0.1]
p = exp(z) / sum(exp(z))
L = -log(p[0])
