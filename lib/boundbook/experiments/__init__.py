"""Numerical experiments that reproduce (small-scale, on CPU) the claims checked in the book.

Each module is named after the paper it checks (e.g. :mod:`.ghosts_of_softmax`) and returns
plain frozen dataclasses of numpy arrays / floats / lists that notebooks print and plot.
"""
