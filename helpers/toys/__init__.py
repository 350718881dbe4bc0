"""Part I, Toy Models of Superposition: toy models, their geometry, phase diagrams, polytopes,
computation in superposition, and the Part's figures."""
