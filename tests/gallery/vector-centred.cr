# Centring a vector: the gradient through the mean is broadcast back to every element.
x = [1, 2, 3, 5]
m = mean(x)
L = sum((x - m)^2)
