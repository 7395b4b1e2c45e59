x = 0.1
a = tanh(x)
b = tanh(a)
c = tanh(b)
d = tanh(c)
f = tanh(d)
