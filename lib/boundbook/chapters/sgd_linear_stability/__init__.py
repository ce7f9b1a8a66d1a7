"""Chapter package: sgd_linear_stability (claims, protocol, experiment, derivation, figures)."""
