# A row added to every row of a matrix: db sums what every row passes back.
X = [[1, 2, 3], [4, 5, 6]]
b = [0.5, -1, 2]
Y = X + b
L = sum(Y * Y)
