"""One number everywhere: the CLI, the JSON and the brief read the same statistics, words and changes.

Each check is against an independent statement of what must hold (a printed change is the difference of the
printed means; the JSON's word for a question is the brief's; the API's defaults are the command's), not
against numbers the code printed before.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
from conftest import EXAMPLE, ROOT

from forecast import api, cli
from forecast.analyses import summary
from forecast.spec import load_prior_set

SKEPTIC = ROOT / "priors" / "example_skeptic.toml"
HANOI = ROOT / "models" / "hanoi_2019.toml"


def _cli(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forecast", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_api_defaults_are_the_commands():
    ap = cli.parser()
    sub = ap._subparsers._group_actions[0].choices  # noqa: SLF001
    for name, fn in (("run", api.run), ("whatif", api.whatif)):
        got = {a.dest: a.default for a in sub[name]._actions}  # noqa: SLF001
        params = inspect.signature(fn).parameters
        for key in ("draws", "seed", "sampler", "tune"):
            assert params[key].default == got[key], (name, key, params[key].default, got[key])


def test_word_is_read_at_the_printed_percentage():
    """55.16% prints as 55%: the word is the band holding 55%, in every surface (one function)."""
    words = load_prior_set(None)
    class R:  # the minimum summary.word reads
        class resolved:
            priors = words
    assert summary.pct(0.5516) == "55%"
    assert summary.word(R, 0.5516) == words.word_for(0.55)
    assert summary.word(R, 0.5549) == summary.word(R, 0.55)


def _consistent(cmp: dict) -> None:
    """Every printed change equals the difference of the two printed means; a paired interval holds it."""
    for row in cmp["rows"]:
        event = row["kind"] != "index"
        b, a, d = row["baseline"]["mean"], row["whatif"]["mean"], row["diff"]
        if event:
            assert summary.percent(d["shown"]) == summary.percent(a) - summary.percent(b), row["id"]
        else:
            assert round(d["shown"], 2) == pytest.approx(round(a, 2) - round(b, 2), abs=1e-9), row["id"]
        if d["lo"] is not None:
            assert d["lo"] <= d["mean"] <= d["hi"], row["id"]
        assert d["paired"] == cmp["paired"]


def test_whatif_priors_compares_against_the_baseline_set(example_no_evidence):
    cmp = api.whatif(example_no_evidence, alt_priors=str(SKEPTIC), draws=300, seed=1)
    assert cmp["sides"] == ["package defaults", "example_skeptic"]
    assert not cmp["identical"] and cmp["paired"]
    assert max(abs(r["diff"]["mean"]) for r in cmp["rows"]) > 0.02  # scale 0.5 on m1 and m3 moves tariffs
    _consistent(cmp)


def test_a_whatif_whose_sides_are_the_same_says_so(example_no_evidence, tmp_path):
    cmp = api.whatif(example_no_evidence, "default", alt_priors="default", draws=200, seed=1)
    assert cmp["identical"] and all(r["diff"]["mean"] == 0 for r in cmp["rows"])
    proc = _cli("whatif", str(example_no_evidence), "--priors", "default", "--draws", "200")
    assert proc.returncode == 0 and "same computation" in proc.stderr


@pytest.mark.slow
def test_a_reweighted_change_is_the_difference_of_its_means():
    """With evidence a prior change reweights the baseline's draws: no pairs, so no paired interval, and the
    change is still the difference of the two means printed beside it."""
    cmp = api.whatif(EXAMPLE, sets={"claims.m1.credence": "0.95", "claims.k2.credence": "0.1"}, draws=400, seed=2,
                     tune=300)
    assert not cmp["paired"]
    assert all(r["diff"]["lo"] is None and r["diff"]["mcse"] > 0 for r in cmp["rows"] if abs(r["diff"]["mean"]) > 1e-9)
    assert max(abs(r["diff"]["mean"]) for r in cmp["rows"]) > 0.02
    _consistent(cmp)


@pytest.mark.slow
def test_json_warnings_reach_stderr_and_the_manifest_records_every_argument(tmp_path):
    proc = _cli("whatif", str(EXAMPLE), "--set", "claims.m1.credence=0.9", "--do", "talks_fail=0",
                "--observe", "tariffs=1", "--draws", "40", "--tune", "30", "--json")
    assert proc.returncode == 0, proc.stderr
    cmp = json.loads(proc.stdout)  # stdout: JSON alone
    m = cmp["manifest"]
    assert m["sets"] == {"claims.m1.credence": "0.9"} and m["do"] == {"talks_fail": 0.0}
    assert m["observe"] == {"tariffs": 1.0}
    warned = [w for d in cmp["diagnostics"].values() for w in d.get("warnings", [])]
    assert warned, "40 draws after 30 tuning steps should warn of a small effective sample size"
    for w in warned:
        assert w in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not HANOI.is_file(), reason="the Hanoi model is not in this checkout")
def test_hanoi_json_and_brief_read_the_same(tmp_path):
    """`forecast run --json` and the brief (its data and its PDF text), same seed and draws: every question's
    number and word, and every charted index's mean, are the same."""
    from test_report import pdf_text

    from forecast.analyses.brief import collect
    from forecast.report import text, write_report

    opts = dict(draws=300, seed=4)
    js = api.run(HANOI, tune=300, **opts)
    data = collect(HANOI, priors=["baseline"], scenarios=[], evidence_impact=False, key_judgments=1,
                   sensitivity_top=1, decide=False, record=False, session_options={"tune": 300}, **opts)
    assert data["title"]["as_of"] == js["as_of"]
    body = pdf_text(write_report(data, tmp_path / "hanoi.pdf"))
    judged = {j["id"]: j for j in data["judgments"]}
    assert set(judged) == set(js["questions"])
    for qid, q in js["questions"].items():
        j = judged[qid]
        assert (j["mean"], j["word"]) == (q["mean"], q["word"]), qid
        if qid in data["key"]:  # a key judgment's sentence; the others' row of the table
            assert f"{text.likelihood_phrase(q['word'])} ({summary.pct(q['mean'])}; 80% interval" in body, qid
        else:
            assert f"{qid}: {j['short']} {j['resolves_by']} {summary.pct(q['mean'])} {q['word']}" in body, qid
    for idx in data["indices"]:
        v = js["variables"][idx["id"]]
        assert (idx["mean"], idx["lo"], idx["hi"]) == (v["mean"], v["lo"], v["hi"]), idx["id"]


def test_cli_whatif_priors_compares_against_the_baseline_set(example_no_evidence):
    """The command, not only the API: `--priors ALT` is the what-if side, the baseline stays the model's."""
    proc = _cli("whatif", str(example_no_evidence), "--priors", str(SKEPTIC), "--draws", "200", "--json")
    assert proc.returncode == 0, proc.stderr
    cmp = json.loads(proc.stdout)
    assert cmp["sides"] == ["package defaults", "example_skeptic"] and not cmp["identical"]
    assert cmp["manifest"]["baseline_priors"] == "package defaults" and cmp["manifest"]["priors"] == "example_skeptic"
    assert max(abs(r["diff"]["mean"]) for r in cmp["rows"]) > 0.02
    _consistent(cmp)


def test_sampler_warnings_name_index_levels_by_their_ids():
    """NumPyro labels the marginal's levels by position (``z__level[2]``): the warning must say which variable."""
    from forecast.analyses.health import namer
    from forecast.compile.vectors import Layout

    lay = Layout()
    lay.vectors["base__Beta"] = ("base", ["x", "y"])
    name = namer(lay, {"z__id": ("a", "b", "china_hegemony_drive"), "u__id": ("moon_support",)})
    assert name("z__level[2]") == "level of china_hegemony_drive"
    assert name("u__level[0]") == "level of moon_support"
    assert name("base__Beta[1]") == "base rate of y"
