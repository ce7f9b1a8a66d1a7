"""Chapter package: gd_quadratic (claims, protocol, experiment, derivation, figures)."""
