"""Numerical (numpy / torch / mpmath) checks of the bounds checked in the book."""
