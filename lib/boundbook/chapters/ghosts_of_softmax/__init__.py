"""Chapter package: ghosts_of_softmax (claims, protocol, experiment, derivation, figures)."""
