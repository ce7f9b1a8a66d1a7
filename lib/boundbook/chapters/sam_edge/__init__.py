"""Chapter package: sam_edge (claims, protocol, experiment, derivation, figures)."""
