"""Starting a section's run: everything the first code cell after the parameters sets up."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import torch
from IPython.display import Markdown

from helpers import profiles
from helpers.book.dependencies import section_settings
from helpers.book.paths import check_checkout
from helpers.book.random_source import RandomSource
from helpers.book.results import Results
from helpers.book.style import use_book_style


class SectionRun(NamedTuple):
    """A section's resolved config, device, results recorder and seeded random sources."""

    config: profiles.Profile
    device: torch.device
    results: Results
    data_source: RandomSource
    init_generator: torch.Generator


def start_section(
    slug: str,
    profile: str,
    seed: int,
    results_dir: str | os.PathLike | None,
    overrides: dict[str, Any] | str | None,
) -> SectionRun:
    """Validate the parameters (before any heavy work; `overrides` may be a JSON string, as
    `papermill -p OVERRIDES '{...}'` passes it), set the book's figure style, and derive the data
    and initialisation randomness from `seed` (torch's global generator too, which sae_lens's
    synthetic data draws from)."""
    check_checkout()
    config = profiles.notebook_parameters(profile, seed, results_dir, overrides)
    torch.manual_seed(seed)
    device = config.torch_device()
    results = Results(slug, profile, seed, results_dir)
    use_book_style()
    return SectionRun(
        config, device, results, RandomSource(seed, device), torch.Generator().manual_seed(seed)
    )


def scale_table(config: profiles.Profile, slug: str) -> Markdown:
    """ "Our scale": every setting the section `slug` reads, this run's value beside the paper's,
    marking where they differ (the same rows as `python -m helpers.profiles --table`)."""
    columns = {f"this run ({config.name})": config, "paper": profiles.PROFILES["paper"]}
    return Markdown(profiles.markdown_table(columns, sections=section_settings(slug)))
