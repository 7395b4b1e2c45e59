# A matrix times a vector: the gradient of A is an outer product.
A = [[1, 2], [3, 4]]
v = [1, 1]
L = sum(A @ v)
