x = 0.5
f = tanh(x)
