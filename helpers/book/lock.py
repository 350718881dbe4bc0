"""One process at a time on a part of the cache: an exclusive lock file that names its holder.

Two builds on one cache, or a build and a JupyterLab kernel harvesting the same store, would
otherwise write the same files at once. The second waits, after saying which process holds the
lock; the lock goes with the process, so a killed holder never leaves it stuck.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(path: Path, what: str) -> Iterator[None]:
    """Hold the lock file `path` (made if needed) while the block runs; `what` names what it guards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            print(f"waiting for {what}: it is in use by {holder} (lock {path})", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        command = " ".join(sys.argv)[:200]
        handle.write(f"process {os.getpid()} ({command}), since {time.strftime('%H:%M:%S')}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
