"""Scratch files of a ``forecast`` command: kept out of the system's temp directory, removed when it ends.

PyTensor writes the source of every function it generates for JAX to a ``NamedTemporaryFile(delete=False)``
(so that tracebacks can show it) and never removes it: 11-16 files per NUTS run, hundreds over a day. Rather
than patch the library, a command points :mod:`tempfile` at a folder of its own,
``$FORECAST_CACHE/tmp/<pid>``, removes it at exit (``atexit``: normal ends, errors, and ``SystemExit`` from
the SIGTERM handler the CLI installs), and at start removes the folders of earlier commands that were killed
outright (their process is gone).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from forecast.spec.fit import cache_dir


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def use_private_tempdir() -> Path:
    """Make ``tempfile`` use ``$FORECAST_CACHE/tmp/<pid>`` for the rest of this process; return it."""
    root = cache_dir() / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():  # left by commands killed outright
        if old.name.isdigit() and int(old.name) != os.getpid() and not _alive(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    mine = root / str(os.getpid())
    mine.mkdir(exist_ok=True)
    tempfile.tempdir = str(mine)
    atexit.register(shutil.rmtree, mine, True)
    return mine
