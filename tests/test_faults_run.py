"""`run --out` killed at random moments (issue 12): see tests/faults.py."""

from __future__ import annotations

import shutil
import signal

import numpy as np
import pytest
from faults import _kill_after, _length, _run_is_whole, _start, in_temp, trials

pytestmark = pytest.mark.slow


def test_run_out_killed_at_random_moments(tmp_path, example_no_evidence):
    out = tmp_path / "work" / "out"
    out.parent.mkdir()
    base = ["run", example_no_evidence, "--draws", "1000", "--out", out]
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
        return bad + in_temp(sub, i)

    trials(trial)
