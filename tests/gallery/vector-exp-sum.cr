x = [0.5, -0.5]
f = log(sum(exp(x)))
