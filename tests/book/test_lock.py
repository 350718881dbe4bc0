"""One process at a time on a part of the cache: the second waits and says who holds the lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from helpers.book.lock import exclusive

HOLD = """
import sys, time
from pathlib import Path
from helpers.book.lock import exclusive
with exclusive(Path(sys.argv[1]), "the test cache"):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_process_waits_for_the_holder_and_is_told_who_it_is(tmp_path, capsys):
    lock = tmp_path / "build.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock), "1.5"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "holding"
    start = time.perf_counter()
    with exclusive(lock, "the test cache"):
        waited = time.perf_counter() - start
    assert holder.wait(timeout=30) == 0
    assert waited > 0.5  # we got in only when the holder let go, after its 1.5 s
    message = capsys.readouterr().err
    assert f"waiting for the test cache: it is in use by process {holder.pid}" in message
    assert str(lock) in message


def test_the_lock_names_its_holder_while_held_and_is_free_after(tmp_path):
    lock = tmp_path / "a" / "build.lock"
    with exclusive(lock, "x"):
        assert lock.read_text().startswith(f"process {os.getpid()} ")
    assert lock.read_text() == ""
    with exclusive(lock, "x"):  # free again: no wait, no message
        pass
