# The reference exercise: one sigmoid neuron with a squared-error loss.
# L = (σ(wᵀx + b₀) − y)² with x = [1, 1], w = [4/5, 7/5], b₀ = 3/5, y = 1.
x = [1, 1]
w = [4/5, 7/5]
b₀ = 3/5
y = 1
z = w.T @ x + b₀
ŷ = σ(z)
L = (ŷ - y)^2
