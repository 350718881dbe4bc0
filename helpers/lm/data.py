"""The language model, its contexts, activation stores and SAE suite for Parts III and IV, from a profile.

Everything is built on first use and cached by content: the stores under
`<cache>/activations/<model>-<spec hash>/` and the SAEs under `<cache>/saes/<store digest>/`, so
every section after the first opens them in seconds. Two disjoint sets of contexts are drawn from
the corpus: the training store (the main site and its neighbours; the model runs only to that
layer) feeds the SAE suite, and the analysis store (the same sites) is what every measurement
reads. The model's per-token loss, which needs the whole model and its 262k-token unembedding, is
harvested apart, on the first analysis contexts only, by the one measurement that reads it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

import numpy as np
import torch
from sae_lens import SAE

from helpers.book.paths import cache_root
from helpers.lm import corpus
from helpers.lm.activation_store import ActivationStore, StoreSpec, open_or_harvest
from helpers.lm.model import LanguageModel, Site, compile_blocks, load_language_model, load_tokenizer
from helpers.lm.precision import dtype_name, resolve_dtype
from helpers.lm.pretrained import PRETRAINED, load_pretrained, pretrained_depth
from helpers.lm.randomized import randomize_weights
from helpers.lm.suite import (
    SaeEntry,
    SuiteTraining,
    nearest_sparsity,
    neighbour_sites,
    seed_replicas,
    sparsity_line,
    suite_entries,
    train_suite,
)
from helpers.profiles import Profile

PILE_DOCUMENTS_PER_CONTEXT = 2  # Pile documents are long; draw from twice as many as contexts needed


@dataclass(frozen=True)
class DataChoice:
    """Which analysis tokens past the dropped positions a measurement keeps: all (the paper's
    choice) or all but the massive-activation outliers, above `ratio` times the median norm (ours).
    Claim ids of the unfiltered choice end in `_no_norm_filter`, whichever choice a profile makes."""

    norm_filter: bool
    ratio: float

    @property
    def other(self) -> DataChoice:
        return DataChoice(not self.norm_filter, self.ratio)

    @property
    def suffix(self) -> str:
        return "" if self.norm_filter else "_no_norm_filter"

    @property
    def label(self) -> str:
        if self.norm_filter:
            return f"ours: {self.ratio:g}× median-norm filter"
        return "the paper's: no norm filter"

    @property
    def description(self) -> str:
        """What "everything above" on a page measured with this choice means, in a sentence."""
        if self.norm_filter:
            return (
                f"Everything above leaves out the analysis tokens whose residual norm exceeds {self.ratio:g} "
                "times the median (massive activations); the paper drops only the first positions of each "
                "context."
            )
        return (
            "Everything above keeps every analysis token past the dropped positions, as the paper does; our "
            f"other choice leaves out those whose residual norm exceeds {self.ratio:g} times the median "
            "(massive activations)."
        )

    @property
    def note(self) -> str:
        """A claim row's closing words, naming the choice it was measured with."""
        if self.norm_filter:
            return f" With our {self.ratio:g}× median-norm filter."
        return " With no norm filter (the paper's choice)."


class LmData:
    """Lazy access to the model, the two stores and the SAE suite of one profile and seed."""

    def __init__(self, profile: Profile, seed: int, device: torch.device):
        self.config = profile.lm
        self.suite_config = profile.sae_suite
        self.reference_l0 = profile.decomposition.reference_l0
        self.seed = seed
        self.device = device
        self.dtype = resolve_dtype(self.config.dtype, device)
        self.training_bf16 = resolve_dtype(self.suite_config.dtype, device) == torch.bfloat16
        self.site = Site(self.config.layer, "resid_post")
        self.sites = (self.site, *neighbour_sites(self.site))
        depth = (Site(layer, "resid_post") for layer in self.config.depth_layers)
        self.depth_sites = tuple(site for site in depth if site not in self.sites)
        if self.suite_config.source != "ours":  # a layer the family lacks is refused here, before any work
            self._pretrained_depth = pretrained_depth(
                self.suite_config.source, [s.layer for s in self.depth_sites], self.reference_l0
            )

    @functools.cached_property
    def model(self) -> LanguageModel:
        """The model, its weights re-drawn with this seed where the profile asks for a random one
        (before compiling, which reads them only at the first forward pass anyway)."""
        c = self.config
        lm = load_language_model(c.model, self.device, self.dtype, compiled=False)
        if c.weights == "randomized":
            randomize_weights(lm.model, self.seed)
        if c.compiled:
            compile_blocks(lm)
        for site in (self.site, *self.depth_sites):
            lm.check_site(site)
        return lm

    @functools.cached_property
    def tokenizer(self):
        """The model's tokenizer, without loading its weights unless the model is already loaded."""
        if "model" in self.__dict__:
            return self.model.tokenizer
        return load_tokenizer(self.config.model)

    def _model_fingerprint(self) -> str:
        compiled = ":compiled" if self.config.compiled else ""
        weights = f":randomized-seed{self.seed}" if self.config.weights == "randomized" else ""
        return f"{self.config.model}:{dtype_name(self.dtype)}{compiled}{weights}"

    def _corpus_fingerprint(self) -> str:
        return corpus.corpus_fingerprint() if self.config.corpus == "registry" else corpus.PILE

    @functools.cached_property
    def _contexts(self) -> tuple[corpus.Contexts, corpus.Contexts]:
        """(training, analysis): disjoint contexts, drawn once from the corpus with the corpus seed."""
        c = self.config
        total = c.train_contexts + c.analysis_contexts
        if c.corpus == "registry":
            docs = corpus.documents()
        else:
            docs = corpus.pile_documents(PILE_DOCUMENTS_PER_CONTEXT * total)
        lm = self.model
        bos = lm.tokenizer.bos_token_id if lm.prepends_bos else None
        contexts = corpus.tokenize_contexts(docs, lm.tokenizer, c.context_length, total, c.corpus_seed, bos)
        order = np.random.default_rng(c.corpus_seed).permutation(total)
        analysis, train = np.sort(order[: c.analysis_contexts]), np.sort(order[c.analysis_contexts :])
        return contexts.select(train), contexts.select(analysis)

    def _store(self, which: str, sites: tuple[Site, ...], n_contexts: int, keep_from: int) -> ActivationStore:
        c = self.config
        spec = StoreSpec(
            model=self._model_fingerprint(),
            sites=tuple(str(s) for s in sites),
            corpus=self._corpus_fingerprint(),
            context_length=c.context_length,
            n_contexts=n_contexts,
            context_seed=c.corpus_seed,
            keep_from=keep_from,
            with_loss=which == "loss",
        )
        key = hashlib.sha256(json.dumps({**spec.as_json(), "split": which}).encode()).hexdigest()[:16]
        folder = cache_root() / "activations" / f"{c.model.replace('/', '--')}-{which}-{key}"

        def contexts() -> corpus.Contexts:
            train, analysis = self._contexts
            return train if which == "train" else analysis.select(np.arange(n_contexts))

        return open_or_harvest(folder, spec, lambda: self.model, contexts, c.batch_contexts)

    @functools.cached_property
    def analysis_store(self) -> ActivationStore:
        """Every site on the analysis contexts."""
        c = self.config
        return self._store("analysis", self.sites, c.analysis_contexts, c.keep_from)

    @functools.cached_property
    def train_store(self) -> ActivationStore:
        """Every site, and the depth sites, on the training contexts: what the SAEs train on."""
        c = self.config
        return self._store("train", self.sites + self.depth_sites, c.train_contexts, c.train_keep_from)

    def _outlier_threshold(self, store: ActivationStore) -> float:
        return float(self.config.outlier_norm_ratio * np.median(store.norms(self.site)))

    @functools.cached_property
    def outlier_threshold(self) -> float:
        """The main site's norm above which an analysis token is a massive-activation outlier."""
        return self._outlier_threshold(self.analysis_store)

    @property
    def choice(self) -> DataChoice:
        """The profile's data choice: with or without the norm filter."""
        return DataChoice(self.config.norm_filter, self.config.outlier_norm_ratio)

    def rows_with(self, choice: DataChoice) -> np.ndarray:
        """The analysis store's rows that `choice` keeps: all, or all but the norm outliers."""
        if not choice.norm_filter:
            return np.arange(self.analysis_store.n_tokens)
        return np.flatnonzero(self.analysis_store.norms(self.site) <= self.outlier_threshold)

    @functools.cached_property
    def outlier_rows(self) -> np.ndarray:
        """The analysis store's norm outliers, the rows the norm filter leaves out."""
        return np.flatnonzero(self.analysis_store.norms(self.site) > self.outlier_threshold)

    @functools.cached_property
    def analysis_rows(self) -> np.ndarray:
        """The analysis store's rows that every measurement uses, by the profile's choice."""
        return self.rows_with(self.choice)

    @property
    def splice_threshold(self) -> float:
        """The norm above which a spliced token keeps its own activation, by the profile's choice."""
        return self.splice_threshold_with(self.choice)

    def splice_threshold_with(self, choice: DataChoice) -> float:
        """The norm above which a spliced token keeps its own activation: the outlier threshold
        where `choice` leaves outliers out, else none."""
        return self.outlier_threshold if choice.norm_filter else float("inf")

    def splice_threshold_at(self, site: Site) -> float:
        """`splice_threshold` for a splice at `site`: at a depth site, `lm.outlier_norm_ratio` times
        that site's median norm on the loss store's tokens, where the profile leaves outliers out."""
        if site == self.site:
            return self.splice_threshold
        if site not in self.depth_sites:
            raise ValueError(f"site {site} is neither the main site {self.site} nor a depth site.")
        if not self.config.norm_filter:
            return float("inf")
        return float(self.config.outlier_norm_ratio * np.median(self.loss_store.norms(site)))

    @functools.cached_property
    def train_rows(self) -> np.ndarray:
        """The training store's rows that the SAEs see: all, or all but the norm outliers."""
        norms = self.train_store.norms(self.site)
        if not self.config.norm_filter:
            return np.arange(len(norms))
        return np.flatnonzero(norms <= self._outlier_threshold(self.train_store))

    @functools.cached_property
    def loss_store(self) -> ActivationStore:
        """The model's per-token loss on the first `lm.loss_contexts` analysis contexts, at the
        analysis store's positions (its rows are the analysis store's first rows), with the depth
        sites' activations: the loss needs the whole model anyway."""
        c = self.config
        return self._store("loss", self.depth_sites, c.loss_contexts, c.keep_from)

    @functools.cached_property
    def position_store(self) -> ActivationStore:
        """The main site on the first analysis contexts with every position kept, the dropped
        ones too."""
        return self._store("positions", (self.site,), self.config.position_contexts, 0)

    @functools.cached_property
    def entries(self) -> list[SaeEntry]:
        """What the suite holds: architecture, site, width and sparsity of each SAE."""
        s = self.suite_config
        if s.source != "ours":
            return [p.entry for p in PRETRAINED[s.source]]
        return suite_entries(
            self.site,
            s.widths,
            s.ks,
            s.jumprelu_widths,
            s.jumprelu_l0,
            s.neighbour_width,
            s.neighbour_k,
            s.line_widths,
            nearest_sparsity(s.ks, self.reference_l0),
        )

    @functools.cached_property
    def reference_line(self) -> list[SaeEntry]:
        """The main site's SAEs at the sparsity nearest `decomposition.reference_l0`, one per
        width, ordered by width: the line along which Part IV compares widths."""
        return sparsity_line(self.entries, str(self.site), self.reference_l0)

    @functools.cached_property
    def replica_entries(self) -> list[SaeEntry]:
        """The reference line's SAEs trained again with other seeds (none for pretrained suites):
        with the line itself, `sae_suite.seeds` copies of each."""
        s = self.suite_config
        if s.source != "ours":
            return []
        return seed_replicas(self.reference_line, s.seeds)

    @property
    def suite_training(self) -> SuiteTraining:
        """How the suite's SAEs train (the profile's recipe, this run's seed)."""
        s = self.suite_config
        return SuiteTraining(s.samples, s.batch_size, s.lr, self.training_bf16, self.seed)

    def train_saes(self, entries: list[SaeEntry]) -> tuple[dict[str, SAE], dict[str, dict]]:
        """The SAEs of `entries` (e.g. one line of the suite) by the suite's recipe, on the
        training store, loaded where already trained; and their training records. Each seed has
        its own folder, so that runs with other seeds keep, rather than retrain, each other's SAEs."""
        store = self.train_store
        root = cache_root() / "saes" / store.digest / f"seed{self.seed}"
        return train_suite(store, entries, self.suite_training, root, self.device, self.train_rows)

    @functools.cached_property
    def _suite(self) -> tuple[dict[str, SAE], dict[str, dict]]:
        s = self.suite_config
        if s.source != "ours":
            return load_pretrained(PRETRAINED[s.source], self.device), {}
        return self.train_saes(self.entries)

    @property
    def saes(self) -> dict[str, SAE]:
        """Every SAE of the suite, by name (see `helpers.lm.suite.SaeEntry.name`)."""
        return self._suite[0]

    @property
    def training_records(self) -> dict[str, dict]:
        """Each trained SAE's record: config, store, log (empty for pretrained SAEs)."""
        return self._suite[1]

    @functools.cached_property
    def depth_entries(self) -> list[SaeEntry]:
        """One SAE per depth site for App. A.3: ours of the neighbouring sites' width and k, or the
        pretrained family's 16k SAE at that layer with the L0 nearest `decomposition.reference_l0`."""
        s = self.suite_config
        if s.source != "ours":
            return [p.entry for p in self._pretrained_depth]
        return [SaeEntry(str(site), "topk", s.neighbour_width, s.neighbour_k) for site in self.depth_sites]

    @functools.cached_property
    def depth_saes(self) -> dict[str, SAE]:
        """The SAEs of `depth_entries`, by name: trained (or loaded) when first asked for."""
        if self.suite_config.source != "ours":
            return load_pretrained(self._pretrained_depth, self.device)
        return self.train_saes(self.depth_entries)[0] if self.depth_entries else {}

    @functools.cached_property
    def replica_saes(self) -> dict[str, SAE]:
        """The SAEs of `replica_entries`, by name: trained (or loaded) when first asked for."""
        return self.train_saes(self.replica_entries)[0] if self.replica_entries else {}
