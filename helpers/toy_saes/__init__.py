"""Part II, Broken Latents: toy SAEs on known true features, reading their latents, and the Part's
figures."""
