"""Chapter package: kalman_natural_gradient (One natural-gradient step is a Kalman update)."""
