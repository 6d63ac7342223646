"""Careless and hostile invocations (issue 12): each gets exit 2, a message naming the option or file and the
entry, no traceback, nothing written and no new file in the temp directory, before any work starts.

Each case states what a user did and what the command must answer; the answers are checked on the
command's own output, not against numbers it printed before.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import EXAMPLE, ROOT

from forecast import cli
from forecast.spec import jsonio
from forecast.spec.errors import SpecError

MODEL = EXAMPLE


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A working folder, and a private temp directory whose contents the test checks afterwards."""
    tmp = tmp_path / "systemp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("FORECAST_CACHE", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    (work / "afile").write_text("not a folder\n")
    (work / "folder").mkdir()
    (work / "folder" / "notes.txt").write_text("the user's own file\n")
    return work, tmp


def _main(capsys, *args: str) -> tuple[int, str]:
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as e:  # argparse
        code = e.code
    return code, capsys.readouterr().err


NUMBERS = [
    (["--draws", "0"], "argument --draws: 0: expected a whole number from 1 up"),
    (["--draws", "-5"], "argument --draws: -5: expected a whole number from 1 up"),
    (["--draws", "many"], "argument --draws: 'many' is not a whole number"),
    (["--seed", "-1"], "argument --seed: -1: expected a whole number from 0 to 4294967295"),
    (["--seed", "123456789012345678901"], "argument --seed: 123456789012345678901: expected a whole number"),
    (["--tune", "-1"], "argument --tune: -1: expected a whole number from 0 up"),
]


@pytest.mark.parametrize("command", ["run", "whatif", "report"])
@pytest.mark.parametrize(("args", "message"), NUMBERS, ids=[" ".join(a) for a, _ in NUMBERS])
def test_command_line_numbers_are_checked_by_the_parser(sandbox, capsys, command, args, message):
    work, tmp = sandbox
    extra = {"whatif": ["--do", "talks_fail=1"], "report": ["-o", work / "b.pdf"]}.get(command, [])
    before = _files(work)
    code, err = _main(capsys, command, MODEL, *extra, *args)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert _files(work) == before and not _files(tmp)


def test_draws_beyond_the_memory_are_refused_up_front_with_the_figure(sandbox, capsys):
    work, tmp = sandbox
    code, err = _main(capsys, "run", MODEL, "--draws", str(10**11), "--out", work / "out")
    assert code == 2 and "would need at least" in err and "GB of memory" in err and "use at most about" in err, err
    assert not (work / "out").exists() and not _files(tmp)


OUTPUTS = [
    (["run", MODEL, "--out", "{w}/afile"], "--out: {w}/afile: names an existing file"),
    (["run", MODEL, "--out", "{w}/afile/sub"], "'{w}/afile' is a file, not a folder"),
    (["run", MODEL, "--out", "{w}/folder"], "holds other files (notes.txt)"),
    (["whatif", MODEL, "--do", "talks_fail=1", "--out", "{w}/afile"], "--out: {w}/afile: names an existing file"),
    (["report", MODEL, "-o", "{w}/folder"], "-o: {w}/folder: should name a .pdf file"),
    (["report", MODEL, "-o", "{w}/dir.pdf"], "-o: {w}/dir.pdf: names a folder"),
    (["report", MODEL, "-o", "{w}/afile/brief.pdf"], "'{w}/afile' is a file, not a folder"),
    (["report", MODEL, "-o", "{w}/brief.pdf", "--png", "{w}/afile"], "--png: {w}/afile: names an existing file"),
]


@pytest.mark.parametrize(("args", "message"), OUTPUTS, ids=[f"{a[0]}-{i}" for i, (a, _) in enumerate(OUTPUTS)])
def test_output_paths_are_checked_before_any_work(sandbox, capsys, args, message):
    work, tmp = sandbox
    (work / "dir.pdf").mkdir(exist_ok=True)
    before = _files(work)
    code, err = _main(capsys, *[str(a).format(w=work) for a in args])
    assert code == 2 and message.format(w=work) in err and "Traceback" not in err, err
    assert _files(work) == before and not _files(tmp)


def test_an_unknown_variable_in_do_is_named(sandbox, capsys):
    code, err = _main(capsys, "whatif", MODEL, "--do", "nope=1")
    assert code == 2 and "--do: nope: not a variable of the model" in err, err


def test_deeply_nested_toml_is_a_syntax_problem(sandbox, capsys):
    work, _ = sandbox
    deep = work / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    code, err = _main(capsys, "check", deep)
    assert code == 2 and f"{deep}: syntax: nested too deeply" in err and "Traceback" not in err, err


def test_the_api_checks_the_same_numbers():
    from forecast.analyses.session import Session

    for kw, entry in (({"draws": 0}, "draws: 0"), ({"seed": -1}, "seed: -1"), ({"tune": -2}, "tune: -2"),
                      ({"chains": 0}, "chains: 0"), ({"draws": 2.5}, "draws: 2.5")):
        with pytest.raises(SpecError, match=entry):
            Session(MODEL, **kw)


def test_json_out_is_always_valid_json():
    import numpy as np

    data = {"a": float("nan"), "b": [np.float64("inf"), 1.5, -np.inf], "c": {"d": np.float32("nan")}, "e": "nan"}
    text = jsonio.dumps(data)
    assert json.loads(text) == {"a": None, "b": [None, 1.5, None], "c": {"d": None}, "e": "nan"}
    assert "NaN" not in text and "Infinity" not in text
    assert jsonio.clean(np.float64(0.25)) == 0.25 and not isinstance(jsonio.clean(True), float)
    assert math.isclose(json.loads(jsonio.dumps([1e-300]))[0], 1e-300)


def test_save_replaces_a_result_whole_or_leaves_it(tmp_path, monkeypatch):
    """``run --out`` into a folder holding an earlier result: the new one replaces it whole; a failure while
    writing leaves the earlier result as it was, with nothing beside it."""
    from forecast.analyses import store
    from forecast.analyses.session import Session
    from forecast.spec.outputs import umask

    s = Session(MODEL, draws=50, seed=0)
    res = s.run()
    out = tmp_path / "out"
    store.save(res, out, {"n": 1})
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(first) == {"result.nc", "manifest.json", "summary.json"}
    assert (out.stat().st_mode & 0o777) == 0o777 & ~umask()
    assert ((out / "summary.json").stat().st_mode & 0o777) == 0o666 & ~umask()

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(store, "to_inference_data", lambda r: type("X", (), {"to_netcdf": broken})())
    with pytest.raises(OSError, match="disk full"):
        store.save(res, out, {"n": 2})
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    monkeypatch.undo()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SpecError, match="holds other files"):
        store.save(res, out, {"n": 3})


@pytest.mark.slow
def test_a_run_with_evidence_leaves_nothing_in_the_temp_directory(tmp_path):
    """NUTS compiles through PyTensor's JAX backend, which writes each generated function's source to a
    temporary file and never removes it; the command points those at a folder of its own and removes it."""
    tmp = tmp_path / "t"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), FORECAST_CACHE=str(tmp_path / "cache"))
    p = subprocess.run([sys.executable, "-m", "forecast", "run", str(MODEL), "--draws", "100", "--tune", "100"],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert p.returncode == 0, p.stderr
    assert not _files(tmp), _files(tmp)
    assert not list((tmp_path / "cache" / "tmp").iterdir())
