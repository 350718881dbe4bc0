"""Part III, a real language model: the model and its sites, the corpus, activation stores, TopK
training, the SAE suite (ours or pretrained), its evaluation and the scaling-law fit, and the Part's
figures and tables."""
