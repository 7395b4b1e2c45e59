z = 0.3
f = sigmoid(z)
