a = 2; b = a * a; c = b + a
