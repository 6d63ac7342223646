"""``forecast history``: the forecast as of each date, the same wherever it runs.

A copy of the example model records outcomes for its three questions (as ``test_score.py`` does), so that the
Brier scores per date and the outcome markers are exercised. Its two observations are dated 2024-05-03 and
2024-05-09: weekly dates from 2024-04-24 to 2024-05-15 keep 0, 0, 1 and 2 of them, three distinct evidence sets
for four dates. The serial history (``--workers 1``) must equal, date by date and draw by draw, what
``Session(model, as_of=date).run()`` gives with the same seed; the same history on a LocalCluster of two worker
processes, and on a ``dask scheduler`` + ``dask worker`` started here as separate processes, must give the same
numbers exactly. Bad input exits 2 with a message and writes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLE_OUTCOMES, example_with_outcomes

from forecast.analyses import sweep
from forecast.analyses.history import Step, grid, parse_step
from forecast.analyses.history_data import load
from forecast.cli import main
from forecast.spec.errors import SpecError

OUTCOMES = EXAMPLE_OUTCOMES
DRAWS, TUNE, SEED = 300, 300, 0
DATES = [dt.date(2024, 4, 24), dt.date(2024, 5, 1), dt.date(2024, 5, 8), dt.date(2024, 5, 15)]
SETTINGS = ["--every", "1W", "--draws", str(DRAWS), "--tune", str(TUNE), "--seed", str(SEED)]
NUMBERS = ("probability", "mean", "lo", "hi", "mcse", "brier", "brier_question", "evidence_used", "r_hat_max",
           "ess_bulk_min", "ess_tail_min", "divergences")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return example_with_outcomes(tmp_path_factory.mktemp("history"))


def history(model: Path, folder: Path, start: dt.date, end: dt.date, *extra: str) -> tuple[object, dict]:
    """``forecast history ... --json`` in this process: the dataset written and the JSON document printed."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["history", str(model), "--from", start.isoformat(), "--to", end.isoformat(), *SETTINGS,
                     "-o", str(folder / "history.nc"), "--charts", str(folder / "charts"), *extra, "--json"])
    assert code == 0
    return load(folder / "history.nc"), json.loads(buf.getvalue())


@pytest.fixture(scope="module")
def serial(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serial")
    ds, doc = history(model, folder, DATES[0], DATES[-1], "--workers", "1")
    return ds, doc, folder


def same_numbers(a, b) -> None:
    """Every number of history ``b`` equals ``a``'s at ``b``'s dates, exactly."""
    a = a.sel(date=b["date"])
    for name in NUMBERS:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    assert (a["word"].values == b["word"].values).all()


def test_each_date_is_the_model_as_of_that_date(model, serial):
    from forecast.analyses.session import Session
    from forecast.analyses.summary import stat

    ds, doc, _ = serial
    assert [d["evidence"] for d in doc["per_date"]] == [0, 0, 1, 2]
    assert doc["runs"] == ds.attrs["runs"] == 3 and list(ds["run"].values) == [0, 0, 1, 2]
    for i, date in enumerate(DATES):
        res = Session(model, draws=DRAWS, seed=SEED, tune=TUNE, as_of=date).run()
        at = ds.isel(date=i)
        for q in ("q_tariffs", "q_crisis", "q_diversion"):
            x = at["probability"].sel(question=q).values
            np.testing.assert_array_equal(x, res.outcomes[f"q:{q}"])  # exact: the same run, draw by draw
            st = stat(res, f"q:{q}")
            assert float(at["mean"].sel(question=q)) == st["mean"]
            assert (float(at["lo"].sel(question=q)), float(at["hi"].sel(question=q))) == (st["lo"], st["hi"])
            assert str(at["word"].sel(question=q).values) == st["word"]
            y = OUTCOMES[q][2]
            assert float(at["brier_question"].sel(question=q)) == pytest.approx((st["mean"] - y) ** 2, abs=1e-12)
        assert float(at["brier"]) == pytest.approx(float(at["brier_question"].mean()), abs=1e-12)
        if res.resolved.evidence:
            assert float(at["r_hat_max"]) == res.diagnostics["r_hat_max"]
            assert int(at["divergences"]) == res.diagnostics["divergences"]
        else:
            assert np.isnan(float(at["r_hat_max"]))
    # the two dates before any evidence share one run: the same numbers
    np.testing.assert_array_equal(ds["probability"].isel(date=0).values, ds["probability"].isel(date=1).values)
    assert list(ds["outcome"].values) == [y for *_, y in OUTCOMES.values()]


def test_local_cluster_gives_the_same_numbers(model, serial, tmp_path):
    ds, doc = history(model, tmp_path, DATES[1], DATES[2], "--workers", "2")  # a forward run and a posterior
    assert "local Dask cluster of 2 worker processes" in doc["where"]
    same_numbers(serial[0], ds)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """``dask scheduler`` and one ``dask worker`` as separate processes on free local ports (port 0: the system
    picks; the address comes from the scheduler file), stopped at the end."""
    folder = tmp_path_factory.mktemp("dask")
    dask = str(Path(sys.executable).parent / "dask")
    info = folder / "scheduler.json"
    procs = []

    def start(*args: str) -> subprocess.Popen:
        with open(folder / f"{args[0]}.log", "w") as log:  # the child keeps its own copy of the descriptor
            p = subprocess.Popen([dask, *args], stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        procs.append(p)
        return p

    try:
        start("scheduler", "--no-dashboard", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(info))
        deadline = time.monotonic() + 60
        while not (info.exists() and info.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        start("worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1",
              "--local-directory", str(folder / "worker"))
        yield address
    finally:
        for p in reversed(procs):  # the worker, then the scheduler: only the processes started here
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_existing_scheduler_gives_the_same_numbers(model, serial, scheduler, tmp_path):
    ds, doc = history(model, tmp_path, DATES[1], DATES[2], "--scheduler", scheduler)  # two runs on one worker
    assert doc["where"].startswith(f"on the Dask cluster at {scheduler}")
    assert doc["reused"] == 1  # the second evidence set reused the worker's compiled simulator
    same_numbers(serial[0], ds)


def test_bad_input_exits_2_and_writes_nothing(model, tmp_path):
    out, charts = tmp_path / "h.nc", tmp_path / "charts"
    cmd = [sys.executable, "-m", "forecast", "history", str(model), "--from", "2024-06-01", "--to", "2024-05-01",
           "--every", "1X", "--scheduler", "not an address", "-o", str(out), "--charts", str(charts)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    for text in ("--from: 2024-06-01: is after --to 2024-05-01", "--every: 1X:", "--scheduler: not an address:"):
        assert text in p.stderr
    p = subprocess.run(cmd[:6] + ["2024-02-30", *cmd[7:]], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "not a date" in p.stderr and "Traceback" not in p.stderr
    assert not out.exists() and not charts.exists()


def test_unreachable_scheduler_exits_2_and_writes_nothing(model, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT", 1.0)
    out = tmp_path / "h.nc"
    code = main(["history", str(model), "--from", "2024-05-01", "--to", "2024-05-08", *SETTINGS,
                 "--scheduler", "tcp://127.0.0.1:9", "-o", str(out), "--charts", str(tmp_path / "charts")])
    assert code == 2
    assert "--scheduler: tcp://127.0.0.1:9: cannot reach a Dask scheduler" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "charts").exists()


def test_fan_charts_are_png_files(serial):
    ds, doc, folder = serial
    files = sorted((folder / "charts").iterdir())
    assert [f.name for f in files] == sorted(f"{q}.png" for q in OUTCOMES)
    assert sorted(doc["charts"]) == sorted(str(f) for f in files)
    for f in files:
        data = f.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    import matplotlib.image

    assert matplotlib.image.imread(files[0]).ndim == 3


@pytest.mark.parametrize(("start", "end", "every", "want"), [
    ("2019-03-31", "2019-07-15", "1M", ["2019-03-31", "2019-04-30", "2019-05-31", "2019-06-30"]),
    ("2020-01-31", "2020-04-30", "1M", ["2020-01-31", "2020-02-29", "2020-03-31", "2020-04-30"]),
    ("2019-01-30", "2019-04-30", "1M", ["2019-01-30", "2019-02-28", "2019-03-30", "2019-04-30"]),
    ("2019-03-31", "2020-03-31", "1Q", ["2019-03-31", "2019-06-30", "2019-09-30", "2019-12-31", "2020-03-31"]),
    ("2020-02-29", "2022-03-01", "1Y", ["2020-02-29", "2021-02-28", "2022-02-28"]),
    ("2024-05-01", "2024-05-29", "2W", ["2024-05-01", "2024-05-15", "2024-05-29"]),
    ("2024-05-01", "2024-05-08", "3d", ["2024-05-01", "2024-05-04", "2024-05-07"]),
])
def test_grid(start, end, every, want):
    got = grid(dt.date.fromisoformat(start), dt.date.fromisoformat(end), parse_step(every))
    assert [d.isoformat() for d in got] == want


def test_steps():
    assert parse_step("1M") == Step(1, "m") and parse_step("w") == Step(1, "w") and parse_step("10d") == Step(10, "d")
    for bad in ("", "0M", "1X", "M1", "1.5M"):
        with pytest.raises(SpecError):
            parse_step(bad)
