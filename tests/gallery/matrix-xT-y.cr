# The transpose of a matrix times a matrix: dL/dx = y (dL/d(xᵀ @ y))ᵀ.
x = [[1, 2], [3, 4], [5, 6]]
y = [[0.5, -1], [1, 0], [-2, 1]]
L = sum(x.T @ y)
