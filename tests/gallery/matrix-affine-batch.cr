# A layer on a batch: every column of X is one example, b is added to every column.
W = [[0.5, -1], [2, 0.25]]
X = [[1, 0], [2, -1]]
b = [[0.1], [-0.3]]
Z = W @ X + b
L = mean(Z * Z)
