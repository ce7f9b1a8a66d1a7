"""Chapter package: edge_of_stability (claims, protocol, experiment, derivation, figures)."""
