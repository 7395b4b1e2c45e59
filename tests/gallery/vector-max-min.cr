a = [1, 5]
b = [3, 2]
f = sum(max(a, b) - min(a, b))
