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

import numpy as np
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
    (tmp_path / ".out.x1.tmp").mkdir()  # what a save killed outright between its renames leaves
    (tmp_path / ".out.x2.old" / "out").mkdir(parents=True)
    monkeypatch.undo()
    store.save(res, out, {"n": 2})  # the next save clears it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert json.loads((out / "summary.json").read_text()) == {"n": 2}
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


# Every name the engine gives a PyMC variable, dimension or data, and every prefix of one, as user ids: the
# engine's own names all hold "__" (forecast.compile.builder, "Names"), which an id cannot.
INTERNAL = {"talks": "gate", "strike": "world", "prices": "u", "unrest": "z",
            "c1": "rep", "c2": "evidence", "c3": "chain", "e_strike": "draw", "e_prices": "theta",
            "q_unrest": "eta", "q_prices": "p", "report": "base", "blog": "effect", "no_talks": "noise"}


def _renamed(text: str) -> str:
    import re

    for old, new in INTERNAL.items():
        text = re.sub(rf'(?<=["{{ ]){old}(?=[" =])', new, text)
    return text


@pytest.mark.slow
def test_ids_that_are_the_engines_own_names_run(tmp_path, capsys):
    """A model whose variables are called gate, world, u, z (claims rep, evidence, chain; observations draw,
    theta; ...) checks, runs with its evidence, saves, and answers a what-if like any other."""
    from forecast.analyses import store
    from forecast.analyses.session import Session
    from forecast.analyses.summary import summarize

    src = ROOT / "tests" / "malformed"
    model = tmp_path / "names.toml"
    model.write_text(_renamed((src / "base_valid.toml").read_text()))
    for name in ("gate", "world", "rep", "chain", "draw", "eta"):
        assert f'"{name}"' in model.read_text(), name
    code, err = _main(capsys, "check", model, "--sources", src / "sources")
    assert code == 0, err
    s = Session(model, draws=400, seed=0)
    res = s.run()
    got = summarize(res)
    assert set(got["variables"]) == {"gate", "world", "u", "z"} and set(got["questions"]) == {"eta", "p"}
    assert got["variables"]["world"]["mean"] == 1.0  # observed
    store.save(res, tmp_path / "out", got)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["manifest.json", "result.nc", "summary.json"]
    base, alt, _, _ = s.whatif(do={"gate": 0.0})
    assert alt.mean("gate") == 0.0 and alt.mean("q:eta") != base.mean("q:eta")


def test_an_id_with_a_double_underscore_is_refused(sandbox, capsys):
    work, _ = sandbox
    src = ROOT / "tests" / "malformed" / "base_valid.toml"
    model = work / "m.toml"
    model.write_text(src.read_text().replace('"unrest"', '"eta__unrest"'))
    code, err = _main(capsys, "check", model)
    assert code == 2 and "'eta__unrest' is not a valid id" in err and "single underscores" in err, err


# A valid point of each parametrisation, and a value inside each distribution's support
VALID = {
    "Beta": [({"alpha": 2.0, "beta": 3.0}, 0.4), ({"mu": 0.4, "sigma": 0.2}, 0.4), ({"mu": 0.4, "nu": 5.0}, 0.4)],
    "Gamma": [({"alpha": 2.0, "beta": 3.0}, 1.0), ({"mu": 1.0, "sigma": 0.5}, 1.0)],
    "HalfNormal": [({"sigma": 1.0}, 0.5), ({"tau": 1.0}, 0.5)],
    "LogNormal": [({"mu": 0.0, "sigma": 1.0}, 1.0), ({"mu": 0.0, "tau": 1.0}, 1.0)],
    "Normal": [({"mu": 0.0, "sigma": 1.0}, 0.0), ({"mu": 0.0, "tau": 1.0}, 0.0)],
    "TruncatedNormal": [({"mu": 0.0, "sigma": 1.0, "lower": -1.0, "upper": 1.0}, 0.0)],
    "Uniform": [({"lower": 0.0, "upper": 1.0}, 0.5)],
}


def test_the_parameter_supports_are_preliz_s():
    """The spec's table of parameter supports (``forecast check`` cannot import PreliZ) against PreliZ's own
    ``params_support``, parameter by parameter, for the parametrisation PreliZ states."""
    import preliz as pz

    from forecast.spec.resolve import SUPPORT

    eps = np.finfo(float).eps
    for dist in VALID:
        d = getattr(pz, dist)()
        for name, (lo, hi) in zip(d.param_names, d.params_support, strict=True):
            low, high, closed = SUPPORT[dist][name]
            assert (low, high) == ((0.0 if lo == eps else lo), hi) and not closed, (dist, name, lo, hi)


def test_what_check_refuses_pymc_cannot_use_and_what_it_accepts_pymc_can():
    """Each parameter moved to its bound and beyond, and each cross constraint broken: the spec's check
    (``_values``) refuses exactly the values for which PyMC's log density is not finite (or PyMC refuses)."""
    import pymc as pm

    from forecast.spec.resolve import SUPPORT, _values

    def pymc_ok(dist, kw, x):
        try:
            with np.errstate(all="ignore"):
                v = pm.logp(getattr(pm, dist).dist(**kw), x).eval(mode="FAST_COMPILE")
        except Exception:  # noqa: BLE001 (PyMC refuses the parameters: ParameterValueError and the like)
            return False
        return bool(np.isfinite(v))

    tried = 0
    for dist, points in VALID.items():
        for kw, x in points:
            assert _values(dist, kw, "effect") == "" and pymc_ok(dist, kw, x), (dist, kw)
            for name in kw:
                low, _, _ = SUPPORT[dist][name]
                if not math.isfinite(low):
                    continue
                for bad in (low, low - 0.5):
                    moved = {**kw, name: bad}
                    assert _values(dist, moved, "effect"), (dist, moved)
                    assert not pymc_ok(dist, moved, x), (dist, moved)
                    tried += 1
    for dist, kw, x in (("Uniform", {"lower": 0.8, "upper": 0.2}, 0.5),
                        ("Beta", {"mu": 0.5, "sigma": 0.6}, 0.5)):
        assert _values(dist, kw, "effect") and not pymc_ok(dist, kw, x), (dist, kw)
        tried += 1
    assert tried >= 30


def test_messages_never_echo_a_file_that_is_not_a_prior_set(capsys):
    folder = ROOT / "tests" / "malformed"
    bad = folder / "priors" / "not_a_prior_set.toml"
    code, err = _main(capsys, "check", folder / "base_valid.toml", "--priors", bad)
    assert code == 2 and "not a prior set" in err
    assert "hunter2" not in err and "admin" not in err, err


def test_a_source_cannot_leave_its_folder_even_through_a_link(tmp_path):
    from forecast.spec.checks import source_path

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ok.txt").write_text("a line\n")
    (tmp_path / "secret.txt").write_text("do not quote\n")
    (tmp_path / "src" / "link.txt").symlink_to(tmp_path / "secret.txt")
    assert source_path(tmp_path / "src", "ok.txt") == (tmp_path / "src" / "ok.txt").resolve()
    for bad in ("link.txt", "../secret.txt", str(tmp_path / "secret.txt"), "sub/../../secret.txt"):
        assert source_path(tmp_path / "src", bad) is None, bad


# ---- property: a valid model mutated field by field never reaches a traceback ----------------------------
hyp = pytest.importorskip("hypothesis")
st = hyp.strategies

VALUES = st.one_of(
    st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["likely", "0-100%", "30-60%", "../x", "/etc/passwd", "gate", "eta__x", "strong", "raises",
                     "1-2", "B2", "", "event", "index"]),
    st.lists(st.integers(-3, 3), max_size=3), st.dates(),
    st.dictionaries(st.sampled_from(["dist", "kwargs", "c", "mu", "sigma"]),
                    st.one_of(st.floats(allow_nan=True), st.sampled_from(["Beta", "Gamma", "DiracDelta"])), max_size=3),
)


# values a careful user might write in place of the one there, so that some mutants pass check and reach the
# sampler: a number for a number, a flag for a flag, another word for the fields that take words
WORDS_FOR = {"strength": ["weak", "moderate", "strong"], "direction": ["raises", "lowers"],
             "base": ["unlikely", "likely", "20-40%"], "credence": ["likely", "very unlikely"]}


def _plausible(data, key: str, old):
    if isinstance(old, bool):
        return data.draw(st.booleans())
    if isinstance(old, int | float):
        return data.draw(st.floats(0.01, 0.99))
    return data.draw(st.sampled_from(WORDS_FOR[key])) if key in WORDS_FOR else old


def _mutants(text: str):
    import tomllib

    doc = tomllib.loads(text)
    places = [("model", None, k) for k in doc["model"]]
    places += [(sec, i, k) for sec, items in doc.items() if isinstance(items, list)
               for i, item in enumerate(items) for k in item]
    return doc, places


@hyp.settings(max_examples=120, deadline=None, suppress_health_check=list(hyp.HealthCheck))
@hyp.given(data=st.data())
def test_a_mutated_model_never_reaches_a_traceback(tmp_path_factory, data):
    import copy

    import tomli_w

    folder = ROOT / "tests" / "malformed"
    doc, places = _mutants((folder / "base_valid.toml").read_text())
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        sec, i, key = data.draw(st.sampled_from(places))
        table = doc[sec] if i is None else doc[sec][i]
        action = data.draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "delete":
            table.pop(key, None)
        elif action == "add":
            table[data.draw(st.sampled_from(["extra", "stregth", "credence", "sd", "threshold"]))] = data.draw(VALUES)
        else:
            table[key] = data.draw(VALUES)
    path = tmp_path_factory.mktemp("mutant") / "m.toml"
    path.write_text(tomli_w.dumps(doc))
    code = cli.main(["check", str(path), "--sources", str(folder / "sources")])  # an exception fails the test
    assert code in (0, 2)


@pytest.fixture(scope="module")
def pymc_loaded():
    """PyTensor raises the recursion limit when it loads: load it before hypothesis watches the limit."""
    import pymc  # noqa: F401


@pytest.mark.slow
@hyp.settings(max_examples=12, deadline=None, suppress_health_check=list(hyp.HealthCheck))
@hyp.given(data=st.data())
def test_a_mutated_forward_model_never_reaches_a_traceback_in_run(pymc_loaded, tmp_path_factory, data):
    """The same mutations, without the evidence (no sampler: a run takes a second), through ``forecast run``."""
    import copy

    import tomli_w

    folder = ROOT / "tests" / "malformed"
    doc, _ = _mutants((folder / "base_valid.toml").read_text())
    doc = copy.deepcopy(doc)
    doc.pop("evidence")
    places = [(sec, i, k) for sec, items in doc.items() if isinstance(items, list)
              for i, item in enumerate(items) for k in item]
    sec, i, key = data.draw(st.sampled_from(places))
    old = doc[sec][i][key]
    doc[sec][i][key] = data.draw(VALUES) if data.draw(st.booleans()) else _plausible(data, key, old)
    path = tmp_path_factory.mktemp("mutant") / "m.toml"
    path.write_text(tomli_w.dumps(doc))
    kept = tempfile.tempdir
    try:
        code = cli.main(["run", str(path), "--draws", "60", "--json"])  # an exception fails the test
    finally:
        tempfile.tempdir = kept
    assert code in (0, 2)


@pytest.mark.slow
@hyp.settings(max_examples=8, deadline=None, suppress_health_check=list(hyp.HealthCheck))
@hyp.given(data=st.data())
def test_a_mutated_model_with_evidence_never_reaches_a_traceback_in_run_or_whatif(pymc_loaded, tmp_path_factory,
                                                                                  data):
    """The same mutations, evidence kept, through ``forecast run`` and ``forecast whatif`` (a sampler each: few
    draws; mutants that change only numbers share the sampler's compiled program)."""
    import copy

    import tomli_w

    folder = ROOT / "tests" / "malformed"
    doc, places = _mutants((folder / "base_valid.toml").read_text())
    doc = copy.deepcopy(doc)
    sec, i, key = data.draw(st.sampled_from([p for p in places if p[0] != "model"]))
    old = doc[sec][i][key]
    doc[sec][i][key] = data.draw(VALUES) if data.draw(st.booleans()) else _plausible(data, key, old)
    path = tmp_path_factory.mktemp("mutant") / "m.toml"
    path.write_text(tomli_w.dumps(doc))
    command = data.draw(st.sampled_from([["run"], ["whatif", "--set", "claims.c1.credence=0.3"]]))
    kept = tempfile.tempdir
    try:  # an exception fails the test
        code = cli.main([command[0], str(path), *command[1:], "--draws", "40", "--tune", "40", "--json"])
    finally:
        tempfile.tempdir = kept
    assert code in (0, 2)


def test_evidence_with_no_chance_at_any_start_is_a_clear_message(monkeypatch):
    """Should the sampler find no starting point where the evidence has a chance (PyMC's SamplingError), the
    user reads which evidence, in a SpecError (exit 2), not PyMC's traceback."""
    from pymc.exceptions import SamplingError

    from forecast.analyses import nuts
    from forecast.analyses.session import Session

    def refuse(*a, **k):
        raise SamplingError("Initial evaluation of model at starting point failed!")

    monkeypatch.setattr(nuts, "sample", refuse)
    with pytest.raises(SpecError, match=r"evidence: the evidence \(e_talks, e_sentiment\) has no chance") as e:
        Session(MODEL, draws=50).run()
    assert "Initial evaluation" in str(e.value)
