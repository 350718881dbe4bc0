"""Heap et al.'s control (seed 001, "Sparse autoencoders can interpret randomly initialized
transformers"): the same architecture and tokenizer with every weight matrix re-drawn at random,
so that what an analysis finds on it cannot come from training."""

from __future__ import annotations

import torch


@torch.no_grad()
def randomize_weights(model: torch.nn.Module, seed: int) -> list[str]:
    """Re-draw in place every parameter of two or more dimensions (each weight matrix, the
    embeddings too) i.i.d. from a Gaussian with that parameter's own mean and standard deviation,
    seeded; one-dimensional ones (norm scales, biases) are kept. A tied parameter (Gemma's
    embedding and unembedding) is drawn once. Returns the names of the parameters re-drawn."""
    generator = torch.Generator().manual_seed(seed)
    redrawn = []
    for name, parameter in model.named_parameters():
        if parameter.ndim < 2:
            continue
        std, mean = torch.std_mean(parameter.detach().float())
        drawn = torch.randn(parameter.shape, generator=generator)  # float32: Gemma's embedding is 168M
        parameter.copy_((drawn.mul_(std.cpu()).add_(mean.cpu())).to(parameter))
        redrawn.append(name)
    if not redrawn:
        raise ValueError("the model has no weight matrix to re-draw.")
    return redrawn
