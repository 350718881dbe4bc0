"""Pretrained SAE families that stand in for our suite: the Gemma Scope SAEs the paper used (Gemma 2
9B, layer 20) and Gemma Scope 2's SAEs of the `cpu` book's Gemma 3 270M, named as suite entries and
loaded with `SAE.from_pretrained` where a hub is reachable."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from sae_lens import SAE
from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory

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


GEMMA_SCOPE_2_L0S = {"small": 20, "medium": 60, "big": 150}  # Gemma Scope 2 names its L0 targets


def _gemma_scope_2_270m() -> list[PretrainedSae]:
    """DeepMind's Gemma Scope 2 SAEs of the `cpu` book's own model, Gemma 3 270M, at its layer 9:
    residual SAEs of four widths at three L0s (20, 60, 150), attention and MLP SAEs at 16k. There is
    none for layer 8's residual."""
    l0s = GEMMA_SCOPE_2_L0S
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


# Per family, the release of its 16k residual SAEs at every layer it covers, the pattern of their
# ids (the layer, then the L0 as the id gives it) and the L0 that the id's last group stands for.
_DEPTH_RELEASES = {
    "gemma-scope-9b": ("gemma-scope-9b-pt-res", r"layer_(\d+)/width_16k/average_l0_(\d+)", int),
    "gemma-scope-2-270m": (
        "gemma-scope-2-270m-pt-res",
        r"layer_(\d+)_width_16k_l0_(small|medium|big)",
        GEMMA_SCOPE_2_L0S.__getitem__,
    ),
}


def pretrained_depth(family: str, layers: Sequence[int], target_l0: int) -> list[PretrainedSae]:
    """The family's 16k residual SAEs at `layers` (App. A.3's sweep over depth), at each layer the
    one whose L0 is nearest `target_l0`, as sae_lens's installed registry lists them (offline); a
    layer the family has no SAE at is refused, naming the layers it has."""
    release, pattern, l0_of = _DEPTH_RELEASES[family]
    by_layer: dict[int, list[tuple[int, str]]] = {}
    for sae_id in get_pretrained_saes_directory()[release].saes_map:
        match = re.fullmatch(pattern, sae_id)
        if match:
            by_layer.setdefault(int(match.group(1)), []).append((l0_of(match.group(2)), sae_id))
    missing = [layer for layer in layers if layer not in by_layer]
    if missing:
        raise ValueError(
            f"lm.depth_layers: {family} has no 16k residual SAE at layer(s) {missing}; "
            f"it has layers {sorted(by_layer)}."
        )
    chosen = {layer: min(by_layer[layer], key=lambda c: (abs(c[0] - target_l0), c[0])) for layer in layers}
    return [
        PretrainedSae(release, sae_id, SaeEntry(f"resid_post.{layer}", "jumprelu", 2**14, l0))
        for layer, (l0, sae_id) in chosen.items()
    ]


def load_pretrained(saes: Sequence[PretrainedSae], device: torch.device) -> dict[str, SAE]:
    """Pretrained SAEs by suite name (downloads: needs a reachable hub)."""
    return {p.entry.name: SAE.from_pretrained(p.release, p.sae_id, device=str(device)) for p in saes}
