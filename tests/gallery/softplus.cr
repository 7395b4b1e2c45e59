x = 1
f = softplus(x)
