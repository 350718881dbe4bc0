"""Activations of a language model on a fixed set of contexts, harvested once into disk-backed arrays.

A store is a folder: one memory-mapped `.npy` array per site (`[n_tokens, d_model]`, the kept
positions of every context in order), the contexts' token ids and sources, the model's per-token
loss when asked for, and `manifest.json` (written last): the spec it was built from (model, sites,
corpus and its hash, context length, positions kept, dtype) with every file's shape and sha256.

A harvest first checks that the store fits on the disk and reserves its files' space (so a full
disk is an error before any work, never a SIGBUS on a memory-mapped write), then writes a batch
of contexts at a time and records its progress, so an interrupted one resumes where it stopped.
`open_store` verifies the manifest and every file's hash; a store built from another spec, without
its manifest, or whose files differ from it, is reported and rebuilt, never used. One process at
a time harvests a store: a second waits, then opens what the first finished.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from helpers.book.disk import ensure_free_space, reserve
from helpers.book.integrity import difference, files_under, read_json, record_files, write_json_atomically
from helpers.book.lock import exclusive
from helpers.lm.corpus import Contexts
from helpers.lm.model import LanguageModel, Site, run_model

MANIFEST = "manifest.json"
MANIFEST_KEYS = ("spec", "d_model", "source_names", "files", "harvested_tokens", "harvest_seconds")
PROGRESS = "progress.json"
SPEC = "spec.json"
BUFFER_ROWS = 1 << 16  # the most rows `batches` holds in memory at once
CHUNK_ROWS = 8192  # rows per chunk of `stream_rows`


@dataclass(frozen=True)
class StoreSpec:
    """Everything a store's contents depend on; two stores with equal specs hold the same numbers."""

    model: str  # LanguageModel.fingerprint(): name and dtype
    sites: tuple[str, ...]
    corpus: str  # the corpus's pinned packages and their hashes
    context_length: int
    n_contexts: int
    context_seed: int
    keep_from: int  # the first position kept in every context
    with_loss: bool
    dtype: str = "float32"

    def __post_init__(self) -> None:
        for site in self.sites:
            Site.parse(site)
        if not 0 <= self.keep_from < self.context_length:
            raise ValueError(
                f"keep_from = {self.keep_from} must be in [0, context_length = {self.context_length})."
            )
        if self.dtype not in ("float32", "float16"):
            raise ValueError(f"store dtype {self.dtype!r}: choose float32 or float16.")

    @property
    def kept_per_context(self) -> int:
        return self.context_length - self.keep_from

    @property
    def n_tokens(self) -> int:
        return self.n_contexts * self.kept_per_context

    def as_json(self) -> dict:
        return {**asdict(self), "sites": list(self.sites)}


class StoreError(RuntimeError):
    """A store that cannot be used as it is: missing, built from another spec, or corrupt."""


def _site_file(site: str) -> str:
    return f"{site}.npy"


class ActivationStore:
    """A finished, verified store. Arrays are read-only memory maps: nothing is loaded until used."""

    def __init__(self, folder: Path, manifest: dict):
        self.folder = folder
        self.manifest = manifest
        self.spec = StoreSpec(**{**manifest["spec"], "sites": tuple(manifest["spec"]["sites"])})
        self.source_names: tuple[str, ...] = tuple(manifest["source_names"])

    def _array(self, name: str) -> np.ndarray:
        return np.load(self.folder / name, mmap_mode="r")

    def activations(self, site: str | Site) -> np.ndarray:
        """`[n_tokens, d_model]`, the kept positions of every context, context by context."""
        if str(site) not in self.spec.sites:
            raise KeyError(f"site {site} is not in this store; it has {', '.join(self.spec.sites)}.")
        return self._array(_site_file(str(site)))

    @property
    def n_tokens(self) -> int:
        return self.spec.n_tokens

    @property
    def harvest_tokens_per_second(self) -> float:
        """Tokens run through the model per second by the harvest that finished this store (a
        resumed harvest counts only the contexts it ran, in the time it ran them)."""
        return self.manifest["harvested_tokens"] / self.manifest["harvest_seconds"]

    @property
    def digest(self) -> str:
        """A short hash of the store's contents (its files' hashes), for keying what is built on it."""
        files = json.dumps(self.manifest["files"], sort_keys=True).encode()
        return hashlib.sha256(files).hexdigest()[:16]

    @property
    def context_tokens(self) -> np.ndarray:
        """`[n_contexts, context_length]`: every context's token ids, dropped positions included."""
        return self._array("tokens.npy")

    @property
    def context_source(self) -> np.ndarray:
        return self._array("source.npy")

    @property
    def tokens(self) -> np.ndarray:
        """The token at each stored row."""
        return np.ascontiguousarray(self.context_tokens[:, self.spec.keep_from :]).reshape(-1)

    @property
    def positions(self) -> np.ndarray:
        return np.tile(np.arange(self.spec.keep_from, self.spec.context_length), self.spec.n_contexts)

    @property
    def context_index(self) -> np.ndarray:
        return np.repeat(np.arange(self.spec.n_contexts), self.spec.kept_per_context)

    @property
    def source(self) -> np.ndarray:
        """The source label index of each stored row (into `source_names`)."""
        return np.repeat(self.context_source, self.spec.kept_per_context)

    @property
    def token_loss(self) -> np.ndarray:
        """The model's loss predicting the next token at each stored row (NaN at the last position)."""
        if not self.spec.with_loss:
            raise KeyError("this store was harvested without the model's per-token loss.")
        return np.ascontiguousarray(self._array("token_loss.npy")[:, self.spec.keep_from :]).reshape(-1)

    def batches(
        self,
        site: str | Site,
        batch_size: int,
        seed: int,
        rows: np.ndarray | None = None,
        buffer: int = BUFFER_ROWS,
    ) -> Iterator[torch.Tensor]:
        """Endless shuffled float32 batches of one site's activations, drawn from `rows` (default all).

        At most `buffer` rows are in memory at once: each pass shuffles blocks of 1,024 rows, reads
        `buffer` rows' worth of blocks, and shuffles those rows."""
        data = self.activations(site)
        rows = np.arange(data.shape[0]) if rows is None else np.sort(np.asarray(rows))
        rng = np.random.default_rng(seed)
        blocks = np.array_split(rows, max(1, len(rows) // 1024))
        per_fill = max(1, buffer // 1024)
        while True:
            order = rng.permutation(len(blocks))
            for start in range(0, len(order), per_fill):
                picked = np.concatenate([blocks[i] for i in np.sort(order[start : start + per_fill])])
                held = torch.from_numpy(np.asarray(data[picked], dtype=np.float32))
                held = held[torch.from_numpy(rng.permutation(len(picked)))]
                for first in range(0, len(held) - batch_size + 1, batch_size):
                    yield held[first : first + batch_size]

    def _chunks(self, site: str | Site, rows: np.ndarray | None, chunk: int) -> Iterator[np.ndarray]:
        data = self.activations(site)
        if rows is None:
            yield from (data[start : start + chunk] for start in range(0, len(data), chunk))
        else:
            yield from (data[np.sort(rows[start : start + chunk])] for start in range(0, len(rows), chunk))

    def mean_and_scale(
        self, site: str | Site, rows: np.ndarray | None = None, chunk: int = 1 << 15
    ) -> tuple[torch.Tensor, float]:
        """The site's mean activation over `rows` (default all) and the root mean squared norm
        about it, in float64 chunks."""
        n = self.n_tokens if rows is None else len(rows)
        mean = sum(part.sum(0, dtype=np.float64) for part in self._chunks(site, rows, chunk)) / n
        squares = sum(
            float(((part - mean) ** 2).sum(dtype=np.float64)) for part in self._chunks(site, rows, chunk)
        )
        return torch.from_numpy(mean).float(), (squares / n) ** 0.5

    def norms(self, site: str | Site, chunk: int = 1 << 15) -> np.ndarray:
        """Every row's activation norm at `site`."""
        return np.concatenate(
            [np.linalg.norm(part.astype(np.float64), axis=1) for part in self._chunks(site, None, chunk)]
        )


def store_damage(folder: Path) -> str | None:
    """None if `folder` holds a finished store whose files match its manifest; else what is wrong."""
    manifest = read_json(folder / MANIFEST)
    if not isinstance(manifest, dict):
        return f"no readable {MANIFEST}"
    missing = sorted(set(MANIFEST_KEYS) - manifest.keys())
    if missing:
        return f"its manifest lacks {', '.join(missing)} (an older format)"
    arrays = [name for name in files_under(folder) if name.endswith(".npy")]
    return difference(folder, manifest["files"], arrays)


def open_store(folder: Path, spec: StoreSpec) -> ActivationStore:
    """The finished store in `folder`, verified against `spec` and its recorded hashes."""
    damage = store_damage(folder)
    if damage:
        raise StoreError(f"the store in {folder} cannot be used: {damage}.")
    manifest = read_json(folder / MANIFEST)
    if manifest["spec"] != spec.as_json():
        raise StoreError(f"{folder} was built from another spec: {manifest['spec']} (wanted {spec}).")
    return ActivationStore(folder, manifest)


def _file_sizes(spec: StoreSpec, d_model: int) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The shape and dtype of each array a harvest writes into."""
    arrays = {_site_file(site): ((spec.n_tokens, d_model), np.dtype(spec.dtype)) for site in spec.sites}
    if spec.with_loss:
        arrays["token_loss.npy"] = ((spec.n_contexts, spec.context_length), np.dtype(np.float32))
    return arrays


def _start_or_resume(folder: Path, spec: StoreSpec, contexts: Contexts, d_model: int) -> int:
    """Prepare `folder` for a harvest and return how many contexts are already done there."""
    arrays = _file_sizes(spec, d_model)
    if read_json(folder / SPEC) == spec.as_json() and np.array_equal(
        np.load(folder / "tokens.npy", mmap_mode="r"), contexts.tokens
    ):
        done = (read_json(folder / PROGRESS) or {}).get("contexts_done", 0)
        if done:
            print(f"resuming the harvest in {folder} after {done} of {spec.n_contexts} contexts.")
    else:
        needed = sum(int(np.prod(shape)) * dtype.itemsize for shape, dtype in arrays.values())
        needed += 2 * contexts.tokens.nbytes
        ensure_free_space(folder.parent, needed, f"the activation store {folder.name}")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        np.save(folder / "tokens.npy", contexts.tokens)
        np.save(folder / "source.npy", contexts.source)
        for name, (shape, dtype) in arrays.items():
            np.lib.format.open_memmap(folder / name, "w+", dtype, shape).flush()
        (folder / SPEC).write_text(json.dumps(spec.as_json()) + "\n")
        done = 0
    for name in arrays:
        reserve(folder / name, 0, (folder / name).stat().st_size)
    return done


def harvest(
    lm: LanguageModel, contexts: Contexts, spec: StoreSpec, folder: Path, batch_contexts: int
) -> ActivationStore:
    """Run the model over `contexts` and write the spec's sites (and loss) into `folder`, resuming a
    harvest that was interrupted; the manifest is written last, with every file's hash."""
    if contexts.tokens.shape != (spec.n_contexts, spec.context_length):
        raise ValueError(f"contexts of shape {contexts.tokens.shape} do not match the spec {spec}.")
    started = time.perf_counter()
    done = _start_or_resume(folder, spec, contexts, lm.d_model)
    sites = [Site.parse(s) for s in spec.sites]
    outputs = {s: np.load(folder / _site_file(str(s)), mmap_mode="r+") for s in sites}
    loss = np.load(folder / "token_loss.npy", mmap_mode="r+") if spec.with_loss else None
    kept, first = spec.kept_per_context, spec.keep_from
    with tqdm(total=spec.n_contexts, initial=done, desc=f"harvest {lm.name}", unit="context") as bar:
        for start in range(done, spec.n_contexts, batch_contexts):
            stop = min(start + batch_contexts, spec.n_contexts)
            ids = torch.from_numpy(contexts.tokens[start:stop].astype(np.int64))
            run = run_model(lm, ids, read=sites, with_loss=spec.with_loss, loss_from=first)
            for site, out in outputs.items():
                out[start * kept : stop * kept] = (
                    run.activations[site][:, first:].reshape(-1, lm.d_model).float().cpu()
                )
                out.flush()
            if loss is not None:
                loss[start:stop] = run.token_loss.cpu().numpy()
                loss.flush()
            (folder / PROGRESS).write_text(json.dumps({"contexts_done": stop}) + "\n")
            bar.update(stop - start)
    del outputs, loss
    manifest = {
        "spec": spec.as_json(),
        "d_model": lm.d_model,
        "source_names": list(contexts.source_names),
        "files": record_files(folder, [name for name in files_under(folder) if name.endswith(".npy")]),
        "harvested_tokens": (spec.n_contexts - done) * spec.context_length,
        "harvest_seconds": time.perf_counter() - started,
    }
    write_json_atomically(folder / MANIFEST, manifest)
    (folder / PROGRESS).unlink(missing_ok=True)
    return ActivationStore(folder, manifest)


def open_or_harvest(
    folder: Path,
    spec: StoreSpec,
    model: Callable[[], LanguageModel],
    contexts: Callable[[], Contexts],
    batch_contexts: int,
) -> ActivationStore:
    """The store in `folder` if it is finished and verifies against `spec`; otherwise say why and
    harvest it (resuming an unfinished harvest of the same spec). The model and contexts are made
    only if needed."""
    with exclusive(folder.with_name(folder.name + ".lock"), f"the activation store {folder.name}"):
        try:
            return open_store(folder, spec)
        except StoreError as reason:
            unfinished = (folder / PROGRESS).is_file() and not (folder / MANIFEST).exists()
            if folder.exists() and not unfinished:
                print(f"rebuilding the activation store: {reason}")
                shutil.rmtree(folder)
        return harvest(model(), contexts(), spec, folder, batch_contexts)


def stream_rows(
    activations: np.ndarray, rows: np.ndarray, device: torch.device, chunk: int = CHUNK_ROWS
) -> Iterator[tuple[slice, torch.Tensor]]:
    """`(where, x)` for consecutive chunks of `rows` of a (memory-mapped) `[n, d]` array, as float32
    on `device`; `where` locates the chunk within `rows`."""
    for start in range(0, len(rows), chunk):
        where = slice(start, min(start + chunk, len(rows)))
        block = np.asarray(activations[rows[where]], dtype=np.float32)
        yield where, torch.from_numpy(block).to(device)
