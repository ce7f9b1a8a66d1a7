"""Chapter package: contractive_dynamics, neural contractive dynamical systems (NCDS)."""
