"""Chapter package: decentralised_streaming (Decentralised gradient descent with streaming data)."""
