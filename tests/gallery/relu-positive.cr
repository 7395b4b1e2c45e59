x = 2
f = relu(x)
