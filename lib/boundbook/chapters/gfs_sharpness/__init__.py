"""Chapter package: gfs_sharpness (claims, protocol, experiment, derivation, figures)."""
