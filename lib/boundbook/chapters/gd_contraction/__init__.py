"""Chapter package: gd_contraction (Gradient descent as a contraction)."""
