# Sums along each row: the gradient of a row's sum is copied along that row, never down a column.
X = [[1, 2, 0], [0.5, -1, 3], [2, 0, 1]]
L = sum(tanh(sum(X * X, axis=1)))
