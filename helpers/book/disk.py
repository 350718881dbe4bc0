"""The cache's disk: room checked before large writes, files reserved rather than left sparse, and
the operating system's errors said in words that name the path and what to do."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from helpers.book.paths import cache_root

GIB = 1 << 30
MARGIN_BYTES = 256 << 20  # kept free beyond what a write needs, for logs, notebooks and manifests


class DiskSpaceError(OSError):
    """Not enough free space for a write that was about to start (errno ENOSPC; shown as its
    message alone)."""

    def __str__(self) -> str:
        return self.strerror


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_bytes(path: Path) -> int:
    """Free bytes on the file system that holds `path` (or would hold it)."""
    return shutil.disk_usage(_existing(path)).free


def ensure_free_space(path: Path, needed: int, what: str) -> None:
    """Refuse, before writing anything, when `needed` bytes (plus a margin) do not fit at `path`."""
    free = free_bytes(path)
    if free < needed + MARGIN_BYTES:
        raise DiskSpaceError(
            errno.ENOSPC,
            f"{what} needs {needed / GIB:.2f} GiB (and {MARGIN_BYTES >> 20} MiB to spare) in {path}, "
            f"but only {free / GIB:.2f} GiB is free there. Free some space, or set DARKMATTER_CACHE "
            "to a folder on a larger disk",
        )


def reserve(path: Path, offset: int, length: int) -> None:
    """Allocate `length` bytes of `path` from `offset`, so that writing them later (through a memory
    map) cannot fail for want of space, which would kill the process with SIGBUS; a full disk
    raises here instead, as an OSError."""
    if length <= 0:
        return
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), offset, length)
        except OSError as error:
            if error.errno in (errno.EOPNOTSUPP, errno.EINVAL):  # a file system without fallocate
                _write_zeros(handle, offset, length)
            else:
                raise


def _write_zeros(handle, offset: int, length: int, block: int = 1 << 24) -> None:
    handle.seek(offset)
    zeros = bytes(block)
    for start in range(0, length, block):
        handle.write(zeros[: min(block, length - start)])
    handle.flush()
    os.fsync(handle.fileno())


def describe_os_error(error: OSError) -> str:
    """One line saying what failed, where, and what to do about it."""
    where = error.filename or "the cache"
    if isinstance(error, DiskSpaceError):
        return str(error.strerror)
    if error.errno == errno.ENOSPC:
        return (
            f"the disk holding {where} is full ({free_bytes(Path(str(where))) / GIB:.2f} GiB free). "
            "Free some space, or set DARKMATTER_CACHE to a folder on a larger disk."
        )
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (
            f"cannot write {where}: {error.strerror}. The cache is {cache_root()}; make it writable, "
            "or set DARKMATTER_CACHE to a writable folder."
        )
    if error.errno == errno.ENOENT:
        return f"{where} does not exist ({error.strerror})."
    return f"{where}: {error.strerror or error}"
