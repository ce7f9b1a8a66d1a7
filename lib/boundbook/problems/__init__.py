"""Models and data sets used by at least two chapters (torch)."""
