"""Chapter package: adam_edge (claims, protocol, experiment, derivation, figures)."""
