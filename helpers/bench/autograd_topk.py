"""The TopK training path the suite used before `train_topk_saes`, kept as the suite row's baseline:
the same recipe and parameters, one SAE at a time, each reading its own batches, with autograd's
backward (a custom function for the encoder's gradient, the embedding_bag's own backward for the
decoder) and the dead latents' top-k over a masked copy of all the scores."""

from __future__ import annotations

import time
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from sae_lens import TopKSAE

from helpers.lm.topk_training import TopKTraining, TrainingLog, _as_sae_lens, _lr_factor, _TopKParameters


class _SelectedPreactivations(torch.autograd.Function):
    """The chosen pre-activations as a function of the encoder; the backward scatters their
    gradient into `[batch, width]` for one dense `grad.T @ centred` product."""

    @staticmethod
    def forward(ctx, values, indices, centred, W_enc_T, b_enc, b_dec):
        ctx.save_for_backward(indices, centred, W_enc_T)
        return values.float()

    @staticmethod
    def backward(ctx, grad):
        indices, centred, W_enc_T = ctx.saved_tensors
        grad_b_enc = torch.zeros_like(W_enc_T[:, 0]).index_add_(0, indices.flatten(), grad.flatten())
        scattered = centred.new_zeros(centred.shape[0], W_enc_T.shape[0])
        scattered.scatter_add_(1, indices, grad.to(centred.dtype))
        grad_W_enc_T = (scattered.T @ centred).float()
        return None, None, None, grad_W_enc_T, grad_b_enc, -(grad_b_enc @ W_enc_T)


def train_topk_sae_with_autograd(
    batches: Iterator[torch.Tensor], d_in: int, config: TopKTraining, device: torch.device | str = "cpu"
) -> tuple[TopKSAE, TrainingLog]:
    """One SAE as the suite trained it before (see the module's docstring)."""
    params = _TopKParameters(
        d_in, config.width, config.decoder_init_norm, torch.Generator().manual_seed(config.seed)
    ).to(device)
    optimizer = torch.optim.Adam(params.parameters(), lr=config.lr, fused=True)
    since_fired = torch.zeros(config.width, dtype=torch.long, device=device)
    dtype = torch.bfloat16 if config.bf16 else torch.float32
    log = TrainingLog([], [], 0, 0.0, 0.0)
    started = time.perf_counter()
    for step in range(config.steps):
        x = next(batches).to(device)
        with torch.no_grad():
            norms = params.W_dec.norm(dim=1)
            centred = (x - params.b_dec).to(dtype)
            scores = torch.addmm(params.b_enc.to(dtype), centred, params.W_enc_T.to(dtype).T).mul_(
                norms.to(dtype)
            )
            values, indices = scores.topk(config.k, dim=-1, sorted=False)
            since_fired += config.batch_size
            since_fired[indices.flatten()] = 0
            dead = since_fired > config.dead_after
            n_dead = int(dead.sum())
            if n_dead:
                aux = scores.masked_fill_(~dead, -torch.inf).topk(
                    min(config.aux_k, n_dead), dim=-1, sorted=False
                )
                values, indices = torch.cat([values, aux.values], 1), torch.cat([indices, aux.indices], 1)
            preactivations = values.float() / norms[indices]
        acts = _SelectedPreactivations.apply(
            preactivations, indices, centred, params.W_enc_T, params.b_enc, params.b_dec
        ).relu()
        main = F.embedding_bag(
            indices[:, : config.k], params.W_dec, per_sample_weights=acts[:, : config.k], mode="sum"
        )
        error = x - main - params.b_dec
        loss = error.pow(2).sum(-1).mean()
        if n_dead:
            aux_recon = F.embedding_bag(
                indices[:, config.k :], params.W_dec, per_sample_weights=acts[:, config.k :], mode="sum"
            )
            loss = loss + config.aux_coefficient * (error.detach() - aux_recon).pow(2).sum(-1).mean()
        for group in optimizer.param_groups:
            group["lr"] = config.lr * _lr_factor(step, config.steps)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step == config.steps - 1:
            log.steps.append(step)
            log.fvu.append(float(error.detach().pow(2).sum() / (x - x.mean(0)).pow(2).sum()))
    log.seconds = time.perf_counter() - started
    log.samples_per_second = config.samples / log.seconds
    return _as_sae_lens(params, config), log
