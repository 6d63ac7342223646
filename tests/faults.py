"""Helpers of the kill tests (tests/test_faults_run.py, tests/test_faults_report.py).

Killed at random moments, `run --out` and `report` leave their output absent or complete (issue 12).

Each trial starts the command, kills it after a random delay (SIGTERM, which the command turns into an
orderly exit, or SIGKILL, which nothing can catch) and then looks at what is there:

* ``run --out DIR`` over an earlier complete result: DIR holds one run's files, all three, and they agree
  (the manifest file is the one inside ``result.nc``); after SIGTERM nothing else is left beside DIR.
* ``report -o FILE``: FILE is absent or a whole PDF; after SIGTERM no temporary file is left beside it.
* Never a file in the system's temp directory (the commands keep their scratch files in a folder of their own,
  removed at exit, and at the next start when a command was killed outright).

Trials run two at a time (two cores); delays are drawn with a fixed seed from the whole length of a run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT

TRIALS = 20


def _start(args, tmp: Path, cache: Path) -> subprocess.Popen:
    env = dict(os.environ, TMPDIR=str(tmp), FORECAST_CACHE=str(cache))
    return subprocess.Popen([sys.executable, "-m", "forecast", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_after(p: subprocess.Popen, delay: float, sig: int) -> None:
    t = time.monotonic()
    while p.poll() is None and time.monotonic() - t < delay:
        time.sleep(0.02)
    if p.poll() is None:
        p.send_signal(sig)
    p.wait(timeout=120)


def _length(args, tmp, cache) -> float:
    t = time.monotonic()
    p = _start(args, tmp, cache)
    assert p.wait(timeout=600) == 0
    return time.monotonic() - t


def _run_is_whole(out: Path) -> str | None:
    """What is wrong with the result folder ``out`` (None: absent, or one complete run)."""
    import arviz as az

    if not out.exists():
        return None
    names = sorted(x.name for x in out.iterdir())
    if names != ["manifest.json", "result.nc", "summary.json"]:
        return f"files {names}"
    inside = json.loads(az.from_netcdf(str(out / "result.nc")).predictions.attrs["manifest"])
    beside = json.loads((out / "manifest.json").read_text())
    if inside != beside:
        return "result.nc and manifest.json are from different runs"
    summary = json.loads((out / "summary.json").read_text())
    if summary["manifest"]["seed"] != beside["seed"]:
        return "summary.json is from another run"
    return None


def in_temp(sub: Path, i: int) -> list[str]:
    """A finding when a trial left files in its temp directory ``sub/tmp``."""
    left = list((sub / "tmp").iterdir())
    return [f"trial {i}: files in the temp directory: {left}"] if left else []


def trials(trial) -> None:
    """``TRIALS`` trials, two at a time; every finding of every trial in one failure."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        bad = [b for found in pool.map(trial, range(TRIALS)) for b in found]
    assert not bad, "\n".join(bad)
