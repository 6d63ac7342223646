"""Killed at random moments, `run --out` and `report` leave their output absent or complete (issue 12).

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
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow
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


def test_run_out_killed_at_random_moments(tmp_path, example_no_evidence):
    out = tmp_path / "work" / "out"
    out.parent.mkdir()
    base = ["run", example_no_evidence, "--draws", "4000", "--out", out]
    length = _length([*base, "--seed", "1"], tmp_path, tmp_path / "cache")  # the earlier result, and the length
    assert _run_is_whole(out) is None
    rng = np.random.default_rng(7)

    def trial(i: int) -> list[str]:
        sub = tmp_path / f"t{i}"
        (sub / "tmp").mkdir(parents=True)
        mine = sub / "out"
        shutil.copytree(out, mine)  # an earlier complete result where the new one goes
        sig = signal.SIGTERM if i % 2 else signal.SIGKILL
        p = _start([*base[:-1], mine, "--seed", str(100 + i)], sub / "tmp", tmp_path / "cache")
        _kill_after(p, float(rng.uniform(0.2, 1.2 * length)), sig)
        bad = []
        why = _run_is_whole(mine)
        if why:
            bad.append(f"trial {i} ({sig.name}): {why}")
        if sig == signal.SIGTERM and sorted(x.name for x in sub.iterdir()) not in (["out", "tmp"], ["tmp"]):
            bad.append(f"trial {i}: left beside the result: {sorted(x.name for x in sub.iterdir())}")
        if list((sub / "tmp").iterdir()):
            bad.append(f"trial {i}: files in the temp directory: {list((sub / 'tmp').iterdir())}")
        return bad

    with ThreadPoolExecutor(2) as pool:
        bad = [b for found in pool.map(trial, range(TRIALS)) for b in found]
    assert not bad, "\n".join(bad)


def test_report_killed_at_random_moments(tmp_path, example_no_evidence):
    args = ["report", example_no_evidence, "--draws", "300", "--no-evidence-impact"]
    length = _length([*args, "-o", tmp_path / "first.pdf"], tmp_path, tmp_path / "cache")
    rng = np.random.default_rng(11)

    def trial(i: int) -> list[str]:
        from pypdf import PdfReader

        sub = tmp_path / f"r{i}"
        (sub / "tmp").mkdir(parents=True)
        pdf = sub / "brief.pdf"
        sig = signal.SIGTERM if i % 2 else signal.SIGKILL
        p = _start([*args, "-o", pdf], sub / "tmp", tmp_path / "cache")
        _kill_after(p, float(rng.uniform(0.2, 1.2 * length)), sig)
        bad = []
        if pdf.exists():
            try:
                assert len(PdfReader(str(pdf)).pages) > 1
            except Exception as e:  # noqa: BLE001 (any failure to read it is the finding)
                bad.append(f"trial {i} ({sig.name}): unreadable PDF: {e}")
        left = sorted(x.name for x in sub.iterdir() if x.name not in ("tmp", "brief.pdf"))
        if sig == signal.SIGTERM and left:
            bad.append(f"trial {i}: left beside the PDF: {left}")
        if list((sub / "tmp").iterdir()):
            bad.append(f"trial {i}: files in the temp directory: {list((sub / 'tmp').iterdir())}")
        return bad

    with ThreadPoolExecutor(2) as pool:
        bad = [b for found in pool.map(trial, range(TRIALS)) for b in found]
    assert not bad, "\n".join(bad)
    # a command killed outright leaves its scratch folder in the cache; the next command removes it
    _length(["run", example_no_evidence, "--draws", "100"], tmp_path, tmp_path / "cache")
    assert not list((tmp_path / "cache" / "tmp").iterdir())
