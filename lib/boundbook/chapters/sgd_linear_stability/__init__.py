"""Chapter package: sgd_linear_stability, mean-square thresholds of SGD at a minimum."""
