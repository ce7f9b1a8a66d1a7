"""Chapter package: small_gain_nash (Small-Gain Nash, certified contraction in games)."""
