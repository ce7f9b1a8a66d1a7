"""Chapter package: muon_stable_step (claims, protocol, experiment, derivation, figures)."""
