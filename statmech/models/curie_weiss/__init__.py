"""The Curie-Weiss (mean-field Ising) model: exact M-only chain, three protocols."""
