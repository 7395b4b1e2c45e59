x = [1, 2, 3, 4]
m = mean(x)
