"""Chapter package: drift_tracking (Online gradient descent on a drifting target)."""
