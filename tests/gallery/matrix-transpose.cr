W = [[1, 2], [3, 4]]
x = [0.5, 1]
f = sum(transpose(W) @ x)
