"""Pretrained SAE families that stand in for our suite: the Gemma Scope SAEs the paper used (Gemma 2
9B, layer 20) and Gemma Scope 2's SAEs of the `cpu` book's Gemma 3 270M, named as suite entries and
loaded with `SAE.from_pretrained` where a hub is reachable."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sae_lens import SAE

from helpers.lm.suite import SaeEntry
from helpers.profiles import PRETRAINED_FAMILIES


@dataclass(frozen=True)
class PretrainedSae:
    """A pretrained SAE in sae_lens's registry, and the suite entry it stands for."""

    release: str
    sae_id: str
    entry: SaeEntry


def _gemma_scope_9b() -> list[PretrainedSae]:
    """The paper's SAEs: Gemma Scope's residual JumpReLU SAEs at layer 20 of Gemma 2 9B (every width
    and L0 it publishes there), plus 16k SAEs of layer 19's residual and layer 20's attention and
    MLP outputs. Gemma Scope's attention SAEs read the heads' outputs before W_O (`hook_z`)."""
    grid = {
        "16k": (11, 20, 36, 58, 68, 138, 310, 408),
        "32k": (11, 57, 344),
        "65k": (11, 55, 298),
        "131k": (11, 19, 34, 53, 62, 114, 221, 276),
        "262k": (11, 50, 259),
        "524k": (10, 48, 241),
        "1m": (11, 19, 34, 57, 101, 193),
    }
    widths = {
        "16k": 2**14,
        "32k": 2**15,
        "65k": 2**16,
        "131k": 2**17,
        "262k": 2**18,
        "524k": 2**19,
        "1m": 2**20,
    }
    saes = [
        PretrainedSae(
            "gemma-scope-9b-pt-res",
            f"layer_20/width_{w}/average_l0_{l0}",
            SaeEntry("resid_post.20", "jumprelu", widths[w], l0),
        )
        for w, l0s in grid.items()
        for l0 in l0s
    ]
    return saes + [
        PretrainedSae(
            "gemma-scope-9b-pt-res",
            "layer_19/width_16k/average_l0_67",
            SaeEntry("resid_post.19", "jumprelu", 2**14, 67),
        ),
        PretrainedSae(
            "gemma-scope-9b-pt-att",
            "layer_20/width_16k/average_l0_76",
            SaeEntry("attn_out.20", "jumprelu", 2**14, 76),
        ),
        PretrainedSae(
            "gemma-scope-9b-pt-mlp",
            "layer_20/width_16k/average_l0_41",
            SaeEntry("mlp_out.20", "jumprelu", 2**14, 41),
        ),
    ]


def _gemma_scope_2_270m() -> list[PretrainedSae]:
    """DeepMind's Gemma Scope 2 SAEs of the `cpu` book's own model, Gemma 3 270M, at its layer 9:
    residual SAEs of four widths at three L0s (20, 60, 150), attention and MLP SAEs at 16k. There is
    none for layer 8's residual."""
    l0s = {"small": 20, "medium": 60, "big": 150}
    widths = {"16k": 2**14, "65k": 2**16, "262k": 2**18, "1m": 2**20}
    saes = [
        PretrainedSae(
            "gemma-scope-2-270m-pt-res",
            f"layer_9_width_{w}_l0_{size}",
            SaeEntry("resid_post.9", "jumprelu", widths[w], l0),
        )
        for w in widths
        for size, l0 in l0s.items()
    ]
    return saes + [
        PretrainedSae(
            f"gemma-scope-2-270m-pt-{kind}",
            "layer_9_width_16k_l0_medium",
            SaeEntry(f"{site}.9", "jumprelu", 2**14, 60),
        )
        for kind, site in (("att", "attn_out"), ("mlp", "mlp_out"))
    ]


_BUILDERS = {"gemma-scope-9b": _gemma_scope_9b, "gemma-scope-2-270m": _gemma_scope_2_270m}
# The families are the profiles' (`sae_suite.source`): one that has no builder here fails at import.
PRETRAINED = {family: _BUILDERS[family]() for family in PRETRAINED_FAMILIES}


def load_pretrained(family: str, device: torch.device) -> dict[str, SAE]:
    """A pretrained family's SAEs by suite name (downloads: needs a reachable hub)."""
    return {
        p.entry.name: SAE.from_pretrained(p.release, p.sae_id, device=str(device)) for p in PRETRAINED[family]
    }
