"""`report` killed at random moments (issue 12): see tests/faults.py."""

from __future__ import annotations

import signal

import numpy as np
import pytest
from faults import _kill_after, _length, _start, in_temp, trials

from forecast.spec.outputs import umask

pytestmark = pytest.mark.slow


def test_report_killed_at_random_moments(tmp_path, example_no_evidence):
    args = ["report", example_no_evidence, "--draws", "100", "--no-evidence-impact", "--scenario", "talks_resume"]
    length = _length([*args, "-o", tmp_path / "first.pdf"], tmp_path, tmp_path / "cache")
    mask = umask()  # a finished PDF gets the usual permissions (mkstemp would leave it 0600)
    assert (tmp_path / "first.pdf").stat().st_mode & 0o777 == 0o666 & ~mask
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
        return bad + in_temp(sub, i)

    trials(trial)
    # a command killed outright leaves its scratch folder in the cache; the next command removes it
    _length(["run", example_no_evidence, "--draws", "100"], tmp_path, tmp_path / "cache")
    assert not list((tmp_path / "cache" / "tmp").iterdir())
