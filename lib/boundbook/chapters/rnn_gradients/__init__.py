"""Chapter package: rnn_gradients (Exploding and vanishing gradients in RNNs)."""
