"""Part IV, Decomposing the Dark Matter: least-squares decompositions of SAE error, predicting larger
SAEs' errors, synthetic activation models, SAEs on error components, neighbour-site SAEs, gradient
pursuit, and the Part's figures."""
