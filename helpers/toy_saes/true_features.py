"""Toy activations with known true features (Chanin et al., "Broken Latents").

A sample is `x = sum_f a_f v_f`: feature `f` fires with its probability and a fixed magnitude,
and `v_f` is its unit vector. Features can co-occur in two ways, both of which mean "the child
fires only when its parent fires":

- `forced_parents`: the child fires with its own probability and switches its parent on (the
  post's absorption code: "if the child is 1, the parent is set to 1"). The child keeps its
  probability; the parent's rises.
- `conditional_children`: the child fires with its probability only among samples where the
  parent fires (sae_lens's `HierarchyNode`). The child's probability is conditional.

Firing draws use `sae_lens.synthetic.ActivationGenerator` (torch's global generator, seeded by
the section), the vectors `sae_lens.synthetic.FeatureDictionary`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

import torch
from sae_lens.synthetic.activation_generator import ActivationGenerator
from sae_lens.synthetic.feature_dictionary import FeatureDictionary, orthogonalize_embeddings
from sae_lens.synthetic.hierarchy import HierarchyNode, hierarchy_modifier

MAX_ENUMERATED_FEATURES = 16
SAMPLING_ROWS = 16384  # rows per generator call in `TrueFeatures.batches` (a measured sweet spot)


def orthogonal_vectors(n_features: int, d_model: int, generator: torch.Generator) -> torch.Tensor:
    """`n_features` unit vectors in `d_model` dimensions, exactly orthogonal when they fit and as
    orthogonal as gradient descent makes them otherwise (sae_lens's `orthogonalize_embeddings`:
    20 vectors in 19 dimensions end with pairwise cosines of about +-1/19)."""
    if n_features <= d_model:
        q, _ = torch.linalg.qr(torch.randn(d_model, n_features, generator=generator))
        return q.T.contiguous()
    start = torch.randn(n_features, d_model, generator=generator)
    return orthogonalize_embeddings(start, num_steps=2_000, lr=0.01)


class TrueFeatures:
    """Known features and how they fire; `sample(batch)` gives `(x, a)`."""

    def __init__(
        self,
        vectors: torch.Tensor,
        probability: torch.Tensor | float,
        magnitude: torch.Tensor | float = 1.0,
        forced_parents: Mapping[int, int] | None = None,
        conditional_children: Mapping[int, int] | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        n_features = vectors.shape[0]
        self.vectors = (vectors / vectors.norm(dim=1, keepdim=True)).to(device)

        def per_feature(value: torch.Tensor | float) -> torch.Tensor:
            return torch.as_tensor(value, dtype=torch.float32).expand(n_features).clone().to(device)

        self.probability = per_feature(probability)
        self.magnitude = per_feature(magnitude)
        self.forced_parents = dict(forced_parents or {})
        self.conditional_children = dict(conditional_children or {})
        self._validate()
        modifiers = []
        if self.conditional_children:
            modifiers.append(hierarchy_modifier(self._hierarchy_roots()))
        if self.forced_parents:
            modifiers.append(self._force_parents)
        self._generator = ActivationGenerator(
            n_features,
            self.probability,
            mean_firing_magnitudes=self.magnitude,
            modify_activations=modifiers,
            device=device,
        )
        self._dictionary = FeatureDictionary(n_features, vectors.shape[1], initializer=None, device=device)
        self._dictionary.feature_vectors.data = self.vectors.clone()
        self._dictionary.requires_grad_(False)

    @property
    def n_features(self) -> int:
        return self.vectors.shape[0]

    @property
    def d_model(self) -> int:
        return self.vectors.shape[1]

    @property
    def activation_generator(self) -> ActivationGenerator:
        """The sae_lens generator of feature activations behind `sample`."""
        return self._generator

    @property
    def feature_dictionary(self) -> FeatureDictionary:
        """The sae_lens map from feature activations to `x` behind `sample`."""
        return self._dictionary

    def parent_of(self, child: int) -> int | None:
        return self.forced_parents.get(child, self.conditional_children.get(child))

    def marginal_probability(self) -> torch.Tensor:
        """How often each feature fires, co-occurrence included: a forced parent fires when it or
        any child does; a conditional child fires with its probability times its parent's."""
        marginal = self.probability.clone()
        for parent in set(self.forced_parents.values()):
            children = [c for c, p in self.forced_parents.items() if p == parent]
            silent = (1 - self.probability[parent]) * (1 - self.probability[children]).prod()
            marginal[parent] = 1 - silent
        for child, parent in self.conditional_children.items():
            marginal[child] = self.probability[child] * self.probability[parent]
        return marginal

    def _validate(self) -> None:
        n = self.n_features
        if ((self.probability <= 0) | (self.probability > 1)).any():
            raise ValueError("every firing probability must be in (0, 1].")
        if (self.magnitude <= 0).any():
            raise ValueError("every firing magnitude must be positive.")
        pairs = list(self.forced_parents.items()) + list(self.conditional_children.items())
        for child, parent in pairs:
            if not (0 <= child < n and 0 <= parent < n) or child == parent:
                raise ValueError(
                    f"child {child} -> parent {parent}: both must be distinct features of 0..{n - 1}."
                )
        overlap = set(self.forced_parents) & set(self.conditional_children)
        if overlap:
            raise ValueError(
                f"features {sorted(overlap)} are children in both ways; give each child one parent."
            )
        children = set(self.forced_parents) | set(self.conditional_children)
        if children & set(dict(pairs).values()):
            raise ValueError("only one level of hierarchy: a child cannot also be a parent.")

    def _hierarchy_roots(self) -> list[HierarchyNode]:
        by_parent: dict[int, list[int]] = {}
        for child, parent in self.conditional_children.items():
            by_parent.setdefault(parent, []).append(child)
        return [
            HierarchyNode(
                feature_index=parent, children=[HierarchyNode(feature_index=c) for c in sorted(kids)]
            )
            for parent, kids in sorted(by_parent.items())
        ]

    def _force_parents(self, activations: torch.Tensor) -> torch.Tensor:
        for child, parent in self.forced_parents.items():
            fires = activations[:, child] > 0
            activations[:, parent] = torch.where(fires, self.magnitude[parent], activations[:, parent])
        return activations

    @torch.no_grad()
    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`x` `[batch, d_model]` and the feature activations `a` `[batch, n_features]` behind it."""
        a = self._generator.sample(batch_size)
        return self._dictionary(a), a

    def batches(self, batch_size: int, count: int) -> Iterator[torch.Tensor]:
        """`count` batches of `x` `[batch_size, d_model]`, drawn about `SAMPLING_ROWS` rows per call
        to the generator: fewer calls cost less per batch, until the draw outgrows the caches."""
        block = max(1, SAMPLING_ROWS // batch_size)
        for start in range(0, count, block):
            x, _ = self.sample(batch_size * min(block, count - start))
            yield from x.split(batch_size)

    def possible_patterns(self) -> torch.Tensor:
        """Every on/off pattern of the features the data can produce `[patterns, n_features]`
        (a child is never on without its parent), for describing what a latent fires on."""
        if self.n_features > MAX_ENUMERATED_FEATURES:
            raise ValueError(
                f"{self.n_features} features give 2^{self.n_features} patterns; enumerate at most "
                f"{MAX_ENUMERATED_FEATURES} features."
            )
        patterns = torch.tensor(list(itertools.product((0.0, 1.0), repeat=self.n_features)))
        patterns = patterns.to(self.vectors.device)
        keep = torch.ones(len(patterns), dtype=torch.bool, device=patterns.device)
        for child in set(self.forced_parents) | set(self.conditional_children):
            keep &= patterns[:, child] <= patterns[:, self.parent_of(child)]
        return patterns[keep]
