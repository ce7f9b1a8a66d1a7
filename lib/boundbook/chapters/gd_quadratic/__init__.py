"""Chapter package: gd_quadratic, GD and momentum on quadratics (sweeps, rates, edges)."""
