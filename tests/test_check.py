"""`forecast check` on a corpus of malformed model files (tests/malformed/).

Every file there is a copy of tests/malformed/base_valid.toml with one mistake (two for
wrong_two_*.toml); tests/malformed/cases.toml says what the validator must report for
each. The command must print every problem as ``error: FILE: entry: message`` on stderr,
exit with 2, show no traceback and write no file. The command imports no PyMC, so the
whole module runs in seconds: each case runs once as a real command (a subprocess; all of
them in parallel, up front), once through ``forecast.cli.main([... "--json"])`` in this
process, and once through the Python API ``forecast.check.check``.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from forecast.check import check
from forecast.cli import main

ROOT = Path(__file__).resolve().parents[1]
MALFORMED = ROOT / "tests" / "malformed"
REL = MALFORMED.relative_to(ROOT)  # paths as given on the command line (cwd = ROOT)
CASES = tomllib.loads((MALFORMED / "cases.toml").read_text(encoding="utf-8"))["case"]
PATH_FLAGS = ("--priors", "--sources")
# cases also run as `forecast check ... --json` in a subprocess (all of them run through main() in-process)
JSON_BY_SUBPROCESS = ["wrong_field", "wrong_two_word_source --sources sources", "base_valid --set claims.c1.credence"]
EXAMPLE_COUNTS = {"sources": 2, "variables": 5, "claims": 6, "evidence": 2, "questions": 3, "scenarios": 3}


def case_id(case: dict) -> str:
    extra = " ".join(a.split("/")[-1] for a in case.get("args", []))
    return f"{case['model'].removesuffix('.toml')}{' ' + extra if extra else ''}"


def cli_args(case: dict, base: Path) -> list[str]:
    """``check MODEL ARGS`` with the paths in them under ``base``."""
    args, out = list(case.get("args", [])), [str(base / case["model"])]
    for i, a in enumerate(args):
        out.append(str(base / a) if i > 0 and args[i - 1] in PATH_FLAGS else a)
    return out


def api_kwargs(case: dict, base: Path) -> dict:
    """The same case as keyword arguments of :func:`forecast.check.check`."""
    args, kw = list(case.get("args", [])), {"sets": {}}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag == "--set":
            key, _, v = value.partition("=")
            kw["sets"][key] = v
        else:
            kw[flag.removeprefix("--")] = base / value
    return kw


def expected_file(err: dict, base: Path) -> str:
    return err["file"] if err["file"].startswith("--") else str(base / err["file"])


def assert_reports(lines: list[str], case: dict, base: Path) -> None:
    """``lines`` (``FILE: entry: message``) hold exactly the case's errors, in any order."""
    left = list(lines)
    for err in case["errors"]:
        prefix = f"{expected_file(err, base)}: {err['entry']}: "
        match = next((x for x in left if x.startswith(prefix) and all(h in x for h in err["has"])), None)
        assert match is not None, f"no error {prefix}... with {err['has']} in:\n" + "\n".join(lines)
        left.remove(match)
    assert not left, "unexpected extra error(s):\n" + "\n".join(left)


def snapshot() -> dict:
    """Everything under tests/malformed (with sizes and times) and the names at the project root."""
    tree = {str(p.relative_to(MALFORMED)): (p.stat().st_size, p.stat().st_mtime_ns) for p in MALFORMED.rglob("*")}
    top = sorted(p.name for p in ROOT.iterdir() if p.name != ".pytest_cache")
    return {"malformed": tree, "root": top}


def run_cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forecast", "check", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """Run the real command once per case, in parallel; note what it wrote."""
    cache = tmp_path_factory.mktemp("forecast_cache")
    tmp = tmp_path_factory.mktemp("system_temp")  # the commands' temp directory: must stay empty
    env = {**os.environ, "FORECAST_CACHE": str(cache), "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "80",
           "TMPDIR": str(tmp)}
    jobs = {}
    for case in CASES:
        args = cli_args(case, REL)
        jobs[case_id(case), "plain"] = args
    for name in JSON_BY_SUBPROCESS:
        case = next(c for c in CASES if case_id(c) == name)
        jobs[name, "json"] = [*cli_args(case, REL), "--json"]
    jobs["example", "json"] = ["models/examples/trade_talks.toml", "--sources", "models/examples/sources", "--json"]
    jobs["base", "plain"] = [str(REL / "base_valid.toml"), "--sources", str(REL / "sources")]
    before = snapshot()
    with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
        futures = {key: pool.submit(run_cli, args, env) for key, args in jobs.items()}
        results = {key: f.result() for key, f in futures.items()}
    return {"results": results, "before": before, "after": snapshot(), "cache": sorted(cache.iterdir()),
            "temp": sorted(tmp.iterdir())}


def test_corpus_is_big_enough():
    wrong = sorted(p.name for p in MALFORMED.glob("wrong_*.toml"))
    assert len(wrong) >= 20
    assert set(wrong) <= {c["model"] for c in CASES}, "every wrong_*.toml needs a case in cases.toml"
    assert (MALFORMED / "priors").is_dir() and list((MALFORMED / "priors").glob("wrong_*.toml"))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cli_reports_every_error(cli, case):
    r = cli["results"][case_id(case), "plain"]
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    errors = [x.removeprefix("error: ") for x in lines if x.startswith("error: ")]
    assert len(errors) == len([x for x in lines if x.strip() and "problem(s) found" not in x]), r.stderr
    assert_reports(errors, case, REL)


def plain_errors(cli, case: dict, base: Path) -> list[str]:
    """The errors of the command-line run of ``case``, with its paths moved under ``base``."""
    lines = cli["results"][case_id(case), "plain"].stderr.replace(str(REL), str(base)).splitlines()
    return [x.removeprefix("error: ") for x in lines if x.startswith("error: ")]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cli_json(cli, case, capsys):
    before = snapshot()
    assert main(["check", *cli_args(case, MALFORMED), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == ""
    out = json.loads(captured.out)
    assert out["ok"] is False
    assert set(out) == {"ok", "errors", "counts"}
    assert_reports(out["errors"], case, MALFORMED)
    assert out["errors"] == plain_errors(cli, case, MALFORMED)
    assert snapshot() == before


@pytest.mark.parametrize("name", JSON_BY_SUBPROCESS)
def test_cli_json_subprocess(cli, name):
    case = next(c for c in CASES if case_id(c) == name)
    r = cli["results"][name, "json"]
    assert "Traceback" not in r.stderr and r.stderr == "", r.stderr
    assert r.returncode == 2
    out = json.loads(r.stdout)
    assert out["ok"] is False and set(out) == {"ok", "errors", "counts"}
    assert_reports(out["errors"], case, REL)
    assert out["errors"] == plain_errors(cli, case, REL)


@pytest.mark.parametrize("case", [c for c in CASES if c.get("api", True)], ids=case_id)
def test_api(cli, case):
    before = snapshot()
    rep = check(MALFORMED / case["model"], **api_kwargs(case, MALFORMED))
    assert rep.ok is False
    assert_reports(rep.errors, case, MALFORMED)
    assert rep.to_dict() == {"ok": False, "errors": rep.errors, "counts": rep.counts}
    assert rep.errors == plain_errors(cli, case, MALFORMED)
    assert snapshot() == before


def test_cli_writes_no_files(cli):
    assert cli["after"] == cli["before"]
    assert cli["cache"] == []
    assert cli["temp"] == []  # nothing in the temp directory either


def test_two_mistakes_are_reported_at_once():
    rep = check(MALFORMED / "wrong_two_field_cycle.toml")
    assert len(rep.errors) == 2
    assert any("unknown field 'stregth'" in e for e in rep.errors)
    assert any("cycle: strike -> prices -> strike" in e for e in rep.errors)
    rep = check(MALFORMED / "wrong_two_word_source.toml", sources=MALFORMED / "sources")
    assert len(rep.errors) == 2
    assert any("'likley'" in e for e in rep.errors) and any("'blogg.txt' not found" in e for e in rep.errors)


def test_valid_example_passes(cli):
    r = cli["results"]["example", "json"]
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out == {"ok": True, "errors": [], "counts": EXAMPLE_COUNTS}
    rep = check(ROOT / "models/examples/trade_talks.toml", sources=ROOT / "models/examples/sources")
    assert rep.ok and rep.errors == [] and rep.counts == EXAMPLE_COUNTS


def test_base_model_passes(cli):
    """The copies are wrong only by their one mistake: the model they come from is sound."""
    r = cli["results"]["base", "plain"]
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and r.stdout.startswith("ok ")
    rep = check(MALFORMED / "base_valid.toml", sources=MALFORMED / "sources")
    assert rep.ok, rep.errors
    assert rep.counts == {"sources": 2, "variables": 4, "claims": 3, "evidence": 2, "questions": 2, "scenarios": 1}


def test_recorded_outcomes_pass(tmp_path):
    """Outcomes recorded the way the format allows (an event question true or false, an index question the level
    observed or true/false, each by its deadline and with the source documenting it) pass."""
    text = (MALFORMED / "base_valid.toml").read_text()
    text = text.replace('resolves_by = 2024-12-31\n', 'resolves_by = 2024-12-31\noutcome = false\n'
                        'resolved_on = 2024-12-31\nresolution_note = "No protest reported by the date."\n'
                        'resolution_source = "report"\n')
    text = text.replace('resolves_by = 2024-09-30\n', 'resolves_by = 2024-09-30\noutcome = 0.74\n'
                        'resolved_on = 2024-09-12\n')
    path = tmp_path / "resolved.toml"
    path.write_text(text)
    rep = check(path, sources=MALFORMED / "sources")
    assert rep.ok, rep.errors
    from forecast.spec import load_model

    qs = {q.id: q for q in load_model(path).questions}
    assert qs["q_unrest"].outcome is False and qs["q_prices"].outcome == 0.74


def test_check_imports_no_pymc():
    code = ("import sys; from forecast.cli import main; main(['check', sys.argv[1]]); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pymc', 'pytensor', 'preliz', 'arviz'}))")
    r = subprocess.run([sys.executable, "-c", code, str(REL / "wrong_field.toml")], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


# The exact engine's limits (forecast.spec.limits): a model over them is refused by every command
# with exit 2 (resolve() raises SpecError), not by a traceback halfway through `forecast run`.

def over_limit_model(tmp_path: Path, events: int = 0, gates: int = 0, name: str = "limits.toml",
                     scenario_events: int = 0) -> Path:
    """base_valid.toml plus ``events`` events with a certain claim (credence 1) into ``strike``
    (observed: base_valid has 1 latent event, ``talks``, upstream of it) and ``gates`` index
    variables with an uncertain claim (credence 0.5) into ``strike`` (which already has one, c1).
    ``scenario_events`` events with certain claims into ``unrest`` (not upstream of the evidence),
    and a scenario ``watch`` observing ``unrest``."""
    text = [(MALFORMED / "base_valid.toml").read_text(encoding="utf-8")]

    def add(vid: str, kind: str, effect: str, credence: float) -> None:
        text.append(f'\n[[variables]]\nid = "{vid}"\nlabel = "Added {vid}"\nkind = "{kind}"\nbase = "30-60%"\n')
        text.append(f'\n[[claims]]\nid = "c_{vid}"\ncause = "{vid}"\neffect = "{effect}"\ndirection = "raises"\n'
                    f'strength = "weak"\ncredence = {credence}\nsource = "report"\nlocator = "4-5"\n'
                    'paraphrase = "Added for the limit tests."\n')

    for i in range(events):
        add(f"x{i:02d}", "event", "strike", 1.0)
    for i in range(gates):
        add(f"g{i:02d}", "index", "strike", 0.5)
    for i in range(scenario_events):
        add(f"s{i:02d}", "event", "unrest", 1.0)
    if scenario_events:
        text.append('\n[[scenarios]]\nid = "watch"\nlabel = "Protests seen"\nobserve = { unrest = true }\n')
    path = tmp_path / name
    path.write_text("".join(text), encoding="utf-8")
    return path


def check_errors(path: Path, capsys) -> tuple[int, list[str]]:
    code = main(["check", str(path)])
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error: ")]
    return code, lines


def test_limits_are_spec_constants():
    from forecast.compile import marginal
    from forecast.spec import limits

    assert (limits.MAX_LATENT, limits.MAX_GATES, limits.MAX_SCOPE, limits.MAX_WIDTH) == (12, 10, 8, 12)
    assert marginal.MAX_LATENT is limits.MAX_LATENT and marginal.MAX_GATES is limits.MAX_GATES
    assert marginal.MAX_SCOPE is limits.MAX_SCOPE and marginal.MAX_WIDTH is limits.MAX_WIDTH


def test_too_many_latent_events_in_one_equation(tmp_path, capsys):
    path = over_limit_model(tmp_path, events=12)  # talks + 12 = 13 unobserved events, all causes of strike
    code, errors = check_errors(path, capsys)
    assert code == 2
    assert len(errors) == 1, errors
    e = errors[0]
    assert f"{path}: variables.strike: its equation couples 13 unobserved events upstream of the evidence (" in e
    assert "talks" in e and "x00" in e and "…" in e
    assert "takes at most 8 in one variable's equation" in e
    rep = check(path)
    assert not rep.ok and rep.errors == [e.removeprefix("error: ")]


def test_too_wide_an_elimination(tmp_path, capsys):
    """14 latent events, each equation coupling only 2 of them, but every pair coupled by an observed event:
    summing them out one at a time must couple all 14 at once (the moral graph is complete)."""
    text = [(MALFORMED / "base_valid.toml").read_text(encoding="utf-8")]
    roots = [f"w{i:02d}" for i in range(14)]
    for v in roots:
        text.append(f'\n[[variables]]\nid = "{v}"\nlabel = "Added {v}"\nkind = "event"\nbase = "30-60%"\n')
    for j, pair in enumerate(itertools.combinations(roots, 2)):
        child = f"y{j:02d}"
        text.append(f'\n[[variables]]\nid = "{child}"\nlabel = "Added {child}"\nkind = "event"\nbase = "30-60%"\n')
        for a in pair:
            text.append(f'\n[[claims]]\nid = "c_{a}_{child}"\ncause = "{a}"\neffect = "{child}"\n'
                        'direction = "raises"\nstrength = "weak"\ncredence = 1.0\nsource = "report"\n'
                        'locator = "4-5"\nparaphrase = "Added for the limit tests."\n')
        text.append(f'\n[[evidence]]\nid = "e_{child}"\nvariable = "{child}"\ndate = 2024-05-30\n'
                    'source = "report"\nvalue = true\n')
    path = tmp_path / "wide.toml"
    path.write_text("".join(text), encoding="utf-8")
    code, errors = check_errors(path, capsys)
    assert code == 2
    assert len(errors) == 1, errors
    assert f"{path}: evidence: 15 unobserved events upstream of the evidence, and summing them out couples" in errors[0]
    assert "the exact engine couples at most 13" in errors[0]


def test_many_uncertain_claims_into_one_variable_pass(tmp_path, capsys):
    """30 uncertain claims into one variable upstream of the evidence: no longer a limit (their gates are summed
    on a grid, forecast.compile.convolution), so check passes; the latent-event limit is still reported alone."""
    from forecast.spec import load_model, load_prior_set, resolve
    from forecast.spec.limits import gated_claims

    path = over_limit_model(tmp_path, gates=29)  # c1 + 29 = 30 uncertain claims into strike
    code, errors = check_errors(path, capsys)
    assert code == 0 and errors == []
    assert len(gated_claims(resolve(load_model(path), load_prior_set(None)), "strike")) == 30
    code, errors = check_errors(over_limit_model(tmp_path, events=12, gates=29, name="both.toml"), capsys)
    assert code == 2
    assert len(errors) == 1 and "variables.strike: its equation couples 13" in errors[0]


def test_exactly_at_the_limits_passes(tmp_path, capsys):
    from forecast.spec import load_model, load_prior_set, resolve
    from forecast.spec.limits import gated_claims, latent_events

    path = over_limit_model(tmp_path, events=11, gates=9)
    code, errors = check_errors(path, capsys)
    assert code == 0 and errors == []
    r = resolve(load_model(path), load_prior_set(None))
    assert len(latent_events(r)) == 12 and len(gated_claims(r, "strike")) == 10
    # beyond 12 latent events: eliminated, with up to 8 in one equation
    path = over_limit_model(tmp_path, events=7, gates=9, name="eliminated.toml", scenario_events=0)
    text = path.read_text(encoding="utf-8")
    for i in range(6):  # six more latent events upstream of the evidence, each through its own chain into x00
        text += (f'\n[[variables]]\nid = "z{i}"\nlabel = "Added z{i}"\nkind = "event"\nbase = "30-60%"\n'
                 f'\n[[claims]]\nid = "c_z{i}"\ncause = "z{i}"\neffect = "x0{i}"\ndirection = "raises"\n'
                 'strength = "weak"\ncredence = 1.0\nsource = "report"\nlocator = "4-5"\n'
                 'paraphrase = "Added for the limit tests."\n')
    path.write_text(text, encoding="utf-8")
    code, errors = check_errors(path, capsys)
    assert code == 0 and errors == []
    assert len(latent_events(resolve(load_model(path), load_prior_set(None)))) == 14


def test_limits_only_upstream_of_the_evidence(tmp_path, capsys):
    """Events and uncertain claims off the evidence's ancestral set are simulated forward: no limit."""
    path = over_limit_model(tmp_path, scenario_events=13)
    text = path.read_text(encoding="utf-8").split("\n[[scenarios]]\nid = \"watch\"")[0]
    path.write_text(text, encoding="utf-8")
    code, errors = check_errors(path, capsys)
    assert code == 0 and errors == []


def test_scenario_observation_over_the_limit(tmp_path, capsys):
    """A scenario that observes a variable with many unobserved events upstream: check says so."""
    code, errors = check_errors(over_limit_model(tmp_path, scenario_events=12), capsys)
    assert code == 2
    assert len(errors) == 1, errors
    assert "scenarios.watch: with its observations, variables.unrest: its equation couples 12 unobserved" in errors[0]
    assert "at most 8 in one variable's equation" in errors[0]


def test_run_over_the_limit_exits_2_without_traceback(tmp_path):
    """`forecast run` refuses the same models as check, with the same message (exit 2, no traceback); 11 uncertain
    claims into one variable, once refused, run, and the output says they were summed on a grid and by how much
    at most that can be off."""
    paths = [over_limit_model(tmp_path, events=12, name="latent.toml"),
             over_limit_model(tmp_path, gates=10, name="gates.toml")]
    env = {**os.environ, "FORECAST_CACHE": str(tmp_path / "cache"), "PYTHONDONTWRITEBYTECODE": "1",
           "COLUMNS": "200"}

    def run(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "forecast", "run", str(path), "--draws", "50"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)

    with ThreadPoolExecutor(2) as pool:
        refused, gridded = list(pool.map(run, paths))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr
    what = "variables.strike: its equation couples 13 unobserved events upstream of"
    assert what in refused.stderr and "the exact engine" in refused.stderr and "at most" in refused.stderr
    out = " ".join((gridded.stdout + gridded.stderr).split())
    assert gridded.returncode == 0, out
    assert "approximate: the 11 uncertain claims into strike summed on a 128-point grid" in out, out
    assert re.search(r"every probability is within ±[0-9.e-]+ of exact summation's", out), out
