"""The SAE suite that Parts III and IV study, trained on an activation store.

Ours: a grid of TopK SAEs (widths x k) on the main residual site, a line of JumpReLU SAEs (the
Gemma Scope architecture, trained with sae_lens's own `SAETrainer` toward a target L0), and one
TopK SAE on each neighbouring site (the previous layer's residual, this layer's attention and MLP
outputs). Every SAE trains on centred activations scaled to mean squared norm `d_in`, then has that
normalisation folded into its weights, so it reads the model's raw activations. Each is saved in
sae_lens's on-disk format with a `training.json` (written last: the run's config, the store it
trained on, its log and the size and sha256 of every file of the folder, `cfg.json` and the
weights alike) and loaded with `SAE.load_from_disk`; one whose record is missing or stale, or
whose files differ from it (one edited, deleted or added), is retrained, with a message. One
process at a time trains a suite: a second waits, then loads what the first saved.

Pretrained families stand in for ours through the same entries (`helpers.lm.pretrained`).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from sae_lens import SAE, JumpReLUTrainingSAE, JumpReLUTrainingSAEConfig
from sae_lens.config import SAETrainerConfig
from sae_lens.training.sae_trainer import SAETrainer
from tqdm.auto import tqdm

from helpers.book.disk import ensure_free_space
from helpers.book.integrity import difference, files_under, read_json, record_files, write_json_atomically
from helpers.book.lock import exclusive
from helpers.lm.activation_store import ActivationStore
from helpers.lm.model import Site
from helpers.lm.topk_training import TopKTraining, TrainingLog, train_topk_saes

ARCHITECTURES = ("topk", "jumprelu")
TRAINING_RECORD = "training.json"
REPLICA_SEED_STRIDE = 1000  # a replica's seed: the run's seed + this times the replica


@dataclass(frozen=True, order=True)
class SaeEntry:
    """One SAE of the suite: its architecture, site, width, sparsity (k for TopK, the target L0
    for JumpReLU), and replica: 0 for the suite's own SAE, 1 on for the same SAE trained again
    with other seeds (`seed_replicas`)."""

    site: str
    architecture: str
    width: int
    sparsity: int
    replica: int = 0

    def __post_init__(self) -> None:
        Site.parse(self.site)
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture {self.architecture!r}: choose one of {ARCHITECTURES}.")
        if not 0 < self.sparsity <= self.width:
            raise ValueError(f"{self.name}: the sparsity must be in [1, width = {self.width}].")
        if self.replica < 0:
            raise ValueError(f"{self.name}: the replica must be 0 or more, not {self.replica}.")

    @property
    def name(self) -> str:
        sparsity = f"k{self.sparsity}" if self.architecture == "topk" else f"l0-{self.sparsity}"
        replica = f"-replica{self.replica}" if self.replica else ""
        return f"{self.architecture}-{self.width}-{sparsity}{replica}@{self.site}"


@dataclass(frozen=True)
class SuiteTraining:
    """How every SAE of the suite trains: samples (epochs over the store as needed), batch, Adam's
    learning rate, bf16 matmuls for the TopK encoder, and the run's seed (replica r of an SAE
    initialises and shuffles with `seed + REPLICA_SEED_STRIDE * r`)."""

    samples: int
    batch_size: int
    lr: float
    bf16: bool
    seed: int


def suite_entries(
    site: Site,
    widths: tuple[int, ...],
    ks: tuple[int, ...],
    jumprelu_widths: tuple[int, ...],
    jumprelu_l0: int,
    neighbour_width: int,
    neighbour_k: int,
    line_widths: tuple[int, ...] = (),
    line_k: int | None = None,
) -> list[SaeEntry]:
    """The suite for residual `site`: the TopK grid, its line at `line_k` (one of `ks`) extended
    to `line_widths`, the JumpReLU line and the neighbouring sites."""
    if line_widths and line_k not in ks:
        raise ValueError(f"the line's k ({line_k}) must be one of the grid's ks {ks}.")
    main = str(site)
    entries = [SaeEntry(main, "topk", w, k) for w in widths for k in ks]
    entries += [SaeEntry(main, "topk", w, line_k) for w in line_widths if w not in widths]
    entries += [SaeEntry(main, "jumprelu", w, jumprelu_l0) for w in jumprelu_widths]
    neighbours = [
        Site(site.layer - 1, "resid_post"),
        Site(site.layer, "attn_out"),
        Site(site.layer, "mlp_out"),
    ]
    entries += [SaeEntry(str(s), "topk", neighbour_width, neighbour_k) for s in neighbours if s.layer >= 0]
    return entries


def nearest_sparsity(sparsities, target: int) -> int:
    """The sparsity of `sparsities` closest to `target` (ties: the sparser)."""
    return min(sparsities, key=lambda s: (abs(s - target), s))


def seed_replicas(line: list[SaeEntry], seeds: int) -> list[SaeEntry]:
    """The SAEs of `line` trained again with other seeds: replicas 1 to `seeds - 1` of each, so
    that with the line itself every SAE has `seeds` independently seeded copies."""
    if seeds < 1:
        raise ValueError(f"seeds must be 1 or more, not {seeds}.")
    return [replace(entry, replica=r) for entry in line for r in range(1, seeds)]


def replica_names(replicas: list[SaeEntry]) -> dict[str, list[str]]:
    """The names of `replicas` grouped by the name of the SAE each replicates, replica by replica."""
    grouped: dict[str, list[str]] = {}
    for entry in sorted(replicas, key=lambda e: e.replica):
        grouped.setdefault(replace(entry, replica=0).name, []).append(entry.name)
    return grouped


def _originals_at(entries: list[SaeEntry], site: str) -> tuple[list[SaeEntry], list[SaeEntry]]:
    """The SAEs at `site` other than replicas, all and TopK only."""
    at_site = [e for e in entries if e.site == site and not e.replica]
    if not at_site:
        raise ValueError(f"the suite has no SAE at {site}.")
    return at_site, [e for e in at_site if e.architecture == "topk"]


def sparsity_grid(entries: list[SaeEntry], site: str) -> list[SaeEntry]:
    """The SAEs at `site` that form the width x sparsity grid: the TopK ones at the widths that
    have every k (a width trained only to extend one line is left out), where there are any (our
    suite), else all (Gemma Scope's are all JumpReLU); replicas left out."""
    at_site, topk = _originals_at(entries, site)
    if not topk:
        return at_site
    ks = {e.sparsity for e in topk}
    ks_at = {w: {e.sparsity for e in topk if e.width == w} for w in {e.width for e in topk}}
    return [e for e in topk if ks_at[e.width] == ks]


def sparsity_line(entries: list[SaeEntry], site: str, target: int) -> list[SaeEntry]:
    """One SAE per width at `site`, ordered by width: the line along which error is compared
    across widths. A TopK suite's k is a setting, so its line holds every TopK SAE with the grid's
    k nearest `target` (ties: the sparser), the widths that extend that line too; a JumpReLU grid's
    L0s differ per width, so its line takes, at each width, the SAE whose L0 is nearest `target`."""
    at_site, topk = _originals_at(entries, site)
    if topk:
        k = nearest_sparsity({e.sparsity for e in sparsity_grid(entries, site)}, target)
        return sorted((e for e in topk if e.sparsity == k), key=lambda e: e.width)
    best: dict[int, SaeEntry] = {}
    for entry in at_site:
        current = best.get(entry.width)
        key = (abs(entry.sparsity - target), entry.sparsity)
        if current is None or key < (abs(current.sparsity - target), current.sparsity):
            best[entry.width] = entry
    return [best[w] for w in sorted(best)]


def jumprelu_line(entries: list[SaeEntry], site: str) -> list[SaeEntry]:
    """Our suite's JumpReLU SAEs at `site`, ordered by width: the paper's own architecture beside
    the TopK grid (none where the grid itself is JumpReLU, as Gemma Scope's is)."""
    if all(e.architecture == "jumprelu" for e in sparsity_grid(entries, site)):
        return []
    return sorted(
        (e for e in entries if e.site == site and e.architecture == "jumprelu" and not e.replica),
        key=lambda e: e.width,
    )


def sparsity_lines(entries: list[SaeEntry], site: str) -> dict[int, list[SaeEntry]]:
    """A `sparsity_line` for each sparsity the grid's narrowest width has, by that sparsity."""
    grid = sparsity_grid(entries, site)
    narrowest = min(e.width for e in grid)
    targets = sorted({e.sparsity for e in grid if e.width == narrowest})
    return {target: sparsity_line(entries, site, target) for target in targets}


class Normalisation:
    """Centre by the site's mean and scale to mean squared norm `d_in`: `(x - mean) * unit`, with
    both measured over the store's `rows` (default all)."""

    def __init__(self, store: ActivationStore, site: str, rows: np.ndarray | None = None):
        self.store, self.site, self.rows = store, site, rows
        self.mean, scale = store.mean_and_scale(site, rows)
        self.unit = self.mean.shape[0] ** 0.5 / scale

    def batches(self, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
        """Endless shuffled batches of the normalised activations of `rows`."""
        for batch in self.store.batches(self.site, batch_size, seed, self.rows):
            yield (batch - self.mean) * self.unit


@torch.no_grad()
def fold_normalisation(sae: SAE, mean: torch.Tensor, unit: float) -> SAE:
    """Make an SAE trained on `(x - mean) * unit` read raw `x`: the encoder's input `(x - b_dec)
    @ W_enc` is unchanged when W_enc grows by `unit` and b_dec moves to raw units, and the decoder
    shrinks by `unit`, so the same latents fire with the same values."""
    sae.W_enc.mul_(unit)
    sae.W_dec.div_(unit)
    sae.b_dec.copy_(mean.to(sae.b_dec) + sae.b_dec / unit)
    return sae


@dataclass(frozen=True)
class JumpReLUTraining:
    """One JumpReLU SAE's run with sae_lens's trainer and DeepMind's quadratic L0 loss toward
    `target_l0` (Gemma Scope 2). The threshold starts at `init_threshold` with STE bandwidth
    `bandwidth`, in units where inputs have mean squared norm d_in: from sae_lens's defaults (0.01,
    0.05), made for billions of tokens, the thresholds do not climb to the target within a few
    hundred thousand samples (L0 86 for a target of 32 at width 1024; 35 with these)."""

    width: int
    target_l0: int
    samples: int
    batch_size: int
    lr: float
    bf16: bool
    seed: int
    init_threshold: float = 0.2
    bandwidth: float = 0.2


def _train_jumprelu(
    batches: Iterator[torch.Tensor], d_in: int, recipe: JumpReLUTraining, device: torch.device
) -> tuple[SAE, TrainingLog]:
    torch.manual_seed(recipe.seed)  # sae_lens initialises from torch's global generator
    sae = JumpReLUTrainingSAE(
        JumpReLUTrainingSAEConfig(
            d_in=d_in,
            d_sae=recipe.width,
            jumprelu_sparsity_loss_mode="quadratic",
            target_l0=float(recipe.target_l0),
            jumprelu_init_threshold=recipe.init_threshold,
            jumprelu_bandwidth=recipe.bandwidth,
            device=str(device),
        )
    )
    steps = recipe.samples // recipe.batch_size
    trainer_config = SAETrainerConfig(
        total_training_samples=recipe.samples,
        train_batch_size_samples=recipe.batch_size,
        lr=recipe.lr,
        lr_end=0.0,
        lr_warm_up_steps=max(1, steps // 100),
        lr_decay_steps=steps // 5,
        device=str(device),
        autocast=recipe.bf16,
    )
    started = time.perf_counter()
    trained = SAETrainer(cfg=trainer_config, sae=sae, data_provider=batches).fit()
    seconds = time.perf_counter() - started
    return _inference_copy(trained), TrainingLog([], [], -1, seconds, recipe.samples / seconds)


def _inference_copy(trained) -> SAE:
    """The inference SAE that sae_lens saves for a training SAE."""
    with tempfile.TemporaryDirectory() as tmp:
        trained.save_inference_model(tmp)
        return SAE.load_from_disk(tmp, device=str(trained.W_enc.device))


def training_recipe(entry: SaeEntry, training: SuiteTraining) -> TopKTraining | JumpReLUTraining:
    """Everything an entry's training depends on (its full config, defaults included)."""
    seed = training.seed + REPLICA_SEED_STRIDE * entry.replica
    if entry.architecture == "jumprelu":
        return JumpReLUTraining(
            entry.width,
            entry.sparsity,
            training.samples,
            training.batch_size,
            training.lr,
            training.bf16,
            seed,
        )
    return TopKTraining(
        width=entry.width,
        k=entry.sparsity,
        samples=training.samples,
        batch_size=training.batch_size,
        lr=training.lr,
        seed=seed,
        bf16=training.bf16,
    )


def _record(
    entry: SaeEntry, recipe: TopKTraining | JumpReLUTraining, store: ActivationStore, rows: np.ndarray | None
) -> dict:
    """What a trained SAE's record must match to be reused: entry, recipe, store and rows."""
    trained_on = "all" if rows is None else hashlib.sha256(np.sort(rows).tobytes()).hexdigest()[:16]
    return {"entry": asdict(entry), "training": asdict(recipe), "store": store.digest, "rows": trained_on}


def sae_damage(folder: Path) -> str | None:
    """None if `folder` holds a trained SAE whose files match its training record; else what is wrong."""
    record = read_json(folder / TRAINING_RECORD)
    if not isinstance(record, dict):
        return f"no readable {TRAINING_RECORD} (an unfinished training)"
    return difference(folder, record.get("files"), files_under(folder, [TRAINING_RECORD]))


def _load_trained(folder: Path, expected: dict, device: torch.device) -> tuple[SAE, dict] | None:
    """The SAE in `folder` if its files match its training record and the record `expected`;
    else None, after saying why."""
    damage = sae_damage(folder)
    if damage:
        print(f"{folder.name}: {damage}; retraining.")
        return None
    record = read_json(folder / TRAINING_RECORD)
    if {key: record.get(key) for key in expected} != expected:
        print(f"{folder.name}: trained with another config or store; retraining.")
        return None
    return SAE.load_from_disk(str(folder), device=str(device)), record


def _saved_bytes(entry: SaeEntry, d_in: int) -> int:
    """About what an entry's folder takes on disk: float32 encoder, decoder and biases."""
    return 4 * (2 * d_in * entry.width + 2 * entry.width + d_in) + (1 << 16)


def train_suite(
    store: ActivationStore,
    entries: list[SaeEntry],
    training: SuiteTraining,
    root: Path,
    device: torch.device,
    rows: np.ndarray | None = None,
) -> tuple[dict[str, SAE], dict[str, dict]]:
    """Every SAE in `entries`, loaded from `root` where already trained on these rows of this
    store with this config, else trained now and saved; returns the SAEs and their training
    records by name. The TopK SAEs to train at one site with one seed train together, in one
    pass over the data shuffled by that seed (`train_topk_saes`); JumpReLU ones with sae_lens's
    trainer, one at a time."""
    done: dict[str, tuple[SAE, dict]] = {}
    with exclusive(root.with_name(root.name + ".lock"), f"the SAE suite in {root}"):
        pending: dict[str, list[SaeEntry]] = {}
        for entry in entries:
            folder = root / entry.name
            expected = _record(entry, training_recipe(entry, training), store, rows)
            loaded = _load_trained(folder, expected, device) if folder.is_dir() else None
            if loaded is None:
                pending.setdefault(entry.site, []).append(entry)
            else:
                done[entry.name] = loaded
        with tqdm(total=sum(map(len, pending.values())), desc="SAE suite", unit="SAE") as progress:
            for site, to_train in pending.items():
                d_in = store.activations(site).shape[1]
                needed = sum(_saved_bytes(entry, d_in) for entry in to_train)
                ensure_free_space(root, needed, f"{len(to_train)} SAEs at {site}")
                norm = Normalisation(store, site, rows)
                by_seed: dict[int, list[SaeEntry]] = {}
                for entry in to_train:
                    if entry.architecture == "topk":
                        by_seed.setdefault(training_recipe(entry, training).seed, []).append(entry)
                for seed, topk in by_seed.items():
                    batches = norm.batches(training.batch_size, seed)
                    recipes = [training_recipe(entry, training) for entry in topk]
                    for entry, trained in zip(
                        topk, train_topk_saes(batches, d_in, recipes, device), strict=True
                    ):
                        done[entry.name] = _save(entry, *trained, norm, training, store, rows, root)
                        progress.update()
                for entry in to_train:
                    if entry.architecture == "jumprelu":
                        recipe = training_recipe(entry, training)
                        batches = norm.batches(training.batch_size, recipe.seed)
                        trained = _train_jumprelu(batches, d_in, recipe, device)
                        done[entry.name] = _save(entry, *trained, norm, training, store, rows, root)
                        progress.update()
    saes = {entry.name: done[entry.name][0] for entry in entries}
    return saes, {entry.name: done[entry.name][1] for entry in entries}


def _save(
    entry: SaeEntry,
    sae: SAE,
    log: TrainingLog,
    norm: Normalisation,
    training: SuiteTraining,
    store: ActivationStore,
    rows: np.ndarray | None,
    root: Path,
) -> tuple[SAE, dict]:
    """Fold the normalisation into a freshly trained SAE, save it in sae_lens's format with its
    training record (written last), and return it with that record."""
    folder = root / entry.name
    fold_normalisation(sae, norm.mean, norm.unit)
    shutil.rmtree(folder, ignore_errors=True)
    sae.save_model(str(folder))
    record = {
        **_record(entry, training_recipe(entry, training), store, rows),
        "log": asdict(log),
        "files": record_files(folder, files_under(folder)),
    }
    write_json_atomically(folder / TRAINING_RECORD, record)
    return sae.eval(), record


def neighbour_sites(site: Site) -> list[Site]:
    """The sites whose SAEs Part IV compares with the main one: the previous layer's residual
    stream, and the attention and MLP outputs of the same layer."""
    sites = [Site(site.layer - 1, "resid_post")] if site.layer > 0 else []
    return sites + [Site(site.layer, "attn_out"), Site(site.layer, "mlp_out")]
