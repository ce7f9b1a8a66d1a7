"""Symbolic (sympy) derivations of the bounds checked in the book."""
