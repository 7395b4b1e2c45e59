# A batch of matrix products: A[k] @ B[k] for k = 0, 1.
A = [[[1, 2], [3, 4]], [[0, 1], [-1, 2]]]
B = [[[1, 0], [0.5, 1]], [[2, -1], [1, 1]]]
L = sum(A @ B)
