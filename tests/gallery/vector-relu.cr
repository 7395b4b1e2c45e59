x = [-1, 0.5, 2]
f = sum(relu(x))
