"""The cache's disk: room checked before writing, space reserved, errors said in words."""

from __future__ import annotations

import errno

import pytest

from helpers.book import disk


def test_a_write_that_does_not_fit_is_refused_before_it_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(disk, "free_bytes", lambda path: 1 << 30)
    with pytest.raises(disk.DiskSpaceError) as refused:
        disk.ensure_free_space(tmp_path / "store", 3 << 30, "the activation store x")
    message = disk.describe_os_error(refused.value)
    assert "the activation store x needs 3.00 GiB" in message
    assert "only 1.00 GiB is free" in message and str(tmp_path / "store") in message
    assert "DARKMATTER_CACHE" in message
    assert str(refused.value).startswith("the activation store x needs")  # as a kernel's error shows it
    assert refused.value.errno == errno.ENOSPC
    disk.ensure_free_space(tmp_path, 100 << 20, "a small write")  # fits with the margin: no error


def test_reserved_space_is_allocated_not_sparse(tmp_path):
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as f:
        f.truncate(8 << 20)
    assert path.stat().st_blocks * 512 < 1 << 20
    disk.reserve(path, 0, 8 << 20)
    assert path.stat().st_blocks * 512 >= 8 << 20
    assert path.stat().st_size == 8 << 20


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.EROFS, "cannot write /cache/x"), (errno.EACCES, "make it writable"), (errno.ENOSPC, "is full")],
)
def test_os_errors_name_the_path_and_what_to_do(code, words, monkeypatch):
    monkeypatch.setattr(disk, "free_bytes", lambda path: 0)
    message = disk.describe_os_error(OSError(code, "some error", "/cache/x"))
    assert words in message and "/cache/x" in message
