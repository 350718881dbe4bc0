"""Part IV, Decomposing the Dark Matter: least-squares decompositions of SAE error, synthetic
activation models, SAEs on error components, neighbour-site SAEs, gradient pursuit."""
