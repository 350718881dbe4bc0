"""The one integrity rule of the cache: files against their recorded sizes and hashes."""

from __future__ import annotations

import pytest

from helpers.book.integrity import difference, files_under, read_json, record_files, write_json_atomically


@pytest.fixture
def artefact(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(b"0123456789")
    (tmp_path / "sub" / "b.txt").write_text("hello")
    return tmp_path, record_files(tmp_path, files_under(tmp_path))


def test_an_intact_folder_has_no_difference(artefact):
    folder, recorded = artefact
    assert set(recorded) == {"a.bin", "sub/b.txt"}
    assert difference(folder, recorded, files_under(folder)) is None


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "a.bin").write_bytes(b"0123456780"), "a.bin does not match its recorded sha256"),
        (lambda f: (f / "a.bin").write_bytes(b"01234"), "a.bin has 5 bytes, not the 10 recorded"),
        (lambda f: (f / "sub" / "b.txt").unlink(), "sub/b.txt is missing"),
        (lambda f: (f / "c.txt").write_text("new"), "c.txt is not among its recorded files"),
    ],
    ids=["same size, other bytes", "truncated", "deleted", "added"],
)
def test_every_kind_of_damage_is_named(artefact, damage, message):
    folder, recorded = artefact
    damage(folder)
    assert difference(folder, recorded, files_under(folder)) == message


def test_nothing_recorded_is_damage_not_an_exception(tmp_path):
    assert difference(tmp_path, None) == "no files are recorded for it"
    assert difference(tmp_path, {}) == "no files are recorded for it"


def test_files_under_leaves_out_the_manifest(artefact):
    folder, _ = artefact
    assert files_under(folder, ["a.bin"]) == ["sub/b.txt"]


def test_json_is_written_whole_or_not_at_all(tmp_path):
    path = tmp_path / "manifest.json"
    write_json_atomically(path, {"files": {"x": 1}})
    assert read_json(path) == {"files": {"x": 1}}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temporary left behind
    path.write_text("{half")
    assert read_json(path) is None
    assert read_json(tmp_path / "missing.json") is None
