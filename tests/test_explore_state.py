"""The explore workbench's state (forecast.explore.state): its numbers are the CLI's, bad input is refused before
any sampling and leaves it working, and a saved prior set reproduces what was evaluated."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLE, EXAMPLE_SOURCES, HANOI, ROOT

from forecast.spec.errors import SpecError

DRAWS = 200
SEED = 0
SKEPTIC = ROOT / "priors" / "example_skeptic.toml"


def _copy_model(folder: Path) -> Path:
    """The example model in ``folder`` with its sources, and one stance (``skeptic``) in priors/trade_talks/."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "trade_talks.toml"
    shutil.copy(EXAMPLE, path)
    shutil.copytree(EXAMPLE_SOURCES, folder / "sources")
    stances = folder / "priors" / "trade_talks"
    stances.mkdir(parents=True)
    shutil.copy(SKEPTIC, stances / "skeptic.toml")
    return path


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """A copy of the example model (so priors are saved beside it, never in the repository) and its workbench."""
    from forecast.explore.state import Workbench

    path = _copy_model(tmp_path_factory.mktemp("explore") / "model")
    wb = Workbench(path, None, path.parent / "sources", draws=DRAWS, seed=SEED)
    return path, wb


def _cli(*args: str) -> dict:
    """A ``forecast`` command's ``--json`` document, run as a separate process."""
    out = subprocess.run([sys.executable, "-m", "forecast", *args, "--json"], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _whatif_rows(doc: dict) -> dict:
    return {row["id"]: row for row in doc["rows"] if row["kind"] == "question"}


def _same_as_whatif(view: dict, doc: dict) -> None:
    """Every question of the view equals ``forecast whatif --json``'s row: the what-if, the baseline, the change."""
    rows = _whatif_rows(doc)
    assert {q["id"] for q in view["questions"]} == set(rows)
    for q in view["questions"]:
        row = rows[q["id"]]
        for k in ("mean", "lo", "hi", "word", "mcse"):
            assert q[k] == row["whatif"][k], (q["id"], k)
            assert q["baseline"][k] == row["baseline"][k], (q["id"], k)
        for k in ("mean", "lo", "hi", "shown", "paired"):
            assert q["change"][k] == row["diff"][k], (q["id"], k)


def _numbers(view: dict) -> list:
    return [(q["id"], q["mean"], q["lo"], q["hi"], q["word"]) for q in view["questions"]]


def _well_formed(view: dict, questions: list[str]) -> None:
    assert [q["id"] for q in view["questions"]] == questions
    for q in view["questions"]:
        assert 0.0 <= q["lo"] <= q["hi"] <= 1.0 or q["lo"] == pytest.approx(q["hi"])
        assert np.isfinite(q["mean"]) and isinstance(q["word"], str)
        assert set(q["baseline"]) >= {"mean", "lo", "hi", "word"}
        assert set(q["change"]) >= {"mean", "lo", "hi"}
        assert (q["change"]["lo"] is None) == (not q["change"]["paired"])
    assert view["method"] in ("baseline", "forward simulation", "paired intervention", "reweighted",
                              "fresh posterior")
    assert view["fresh"] == (view["method"] == "fresh posterior") and isinstance(view["touched"], list)
    assert view["pareto_k_max"] == 0.7 and view["seconds"] >= 0
    json.dumps(view, allow_nan=False)


# --- the controls -----------------------------------------------------------------------------------------------

def test_controls(example):
    path, wb = example
    c = wb.controls()
    json.dumps(c, allow_nan=False)
    assert [x["id"] for x in c["claims"]] == ["m1", "m2", "m3", "m4", "k1", "k2"]
    m1 = c["claims"][0]
    assert (m1["source"], m1["source_title"], m1["grade"], m1["strength"]) == ("memo", "Briefing memo", "B2", "strong")
    assert m1["credence"] == pytest.approx(0.765) and "moderate" in m1["strength_words"]
    assert c["claims"][-1]["credence"] == pytest.approx(wb.session.baseline.claims["k2"].credence)
    assert c["variables"][0] == {**c["variables"][0], "id": "talks_fail", "kind": "event",
                                 "base": "roughly even chance"}
    assert "likely" in c["variables"][0]["base_words"]
    assert c["stances"] == ["default", "skeptic"]  # no baseline.toml: the package defaults first
    assert [s["id"] for s in c["scenarios"]] == ["talks_resume", "tariffs_imposed", "trust_column"]
    assert c["questions"][0] == {"id": "q_tariffs", "short": "New tariff round (2024)",
                                 "text": "Will a new tariff round be announced by 31 December 2024?"}
    assert {v["id"] for v in c["interventions"]} == {v["id"] for v in c["variables"]}
    assert wb.model_path == path and (wb.seed, wb.draws) == (SEED, DRAWS)


# --- the numbers are the CLI's ------------------------------------------------------------------------------------

def test_credence_change_equals_cli(example):
    """A credence change, reweighted, equals ``forecast whatif --set`` (run as a separate process) question by
    question, and ``forecast run --set`` (a fresh posterior of the changed model) within Monte Carlo error."""
    from forecast import api

    path, wb = example
    sets = {"claims.m1.credence": "0.3"}
    view = wb.evaluate(sets=sets)
    assert view["method"] == "reweighted" and view["pareto_k"] <= 0.7 and not view["fresh"]
    assert view["touched"] == ["m1"]
    common = ("--sources", str(path.parent / "sources"), "--seed", str(SEED), "--draws", str(DRAWS))
    _same_as_whatif(view, _cli("whatif", str(path), "--set", "claims.m1.credence=0.3", *common))
    run = api.run(path, sets=sets, sources=path.parent / "sources", draws=DRAWS, seed=SEED)["questions"]
    for q in view["questions"]:  # another posterior: the same within a few Monte Carlo errors
        assert abs(q["mean"] - run[q["id"]]["mean"]) < 4 * np.hypot(q["mcse"], run[q["id"]]["mcse"]), q["id"]
    base = wb.baseline()
    assert base["method"] == "baseline" and base["pareto_k"] is None
    assert [(q["mean"], q["lo"], q["hi"]) for q in base["questions"]] == [
        (q["baseline"]["mean"], q["baseline"]["lo"], q["baseline"]["hi"]) for q in view["questions"]]


@pytest.mark.parametrize("scenario", ["trust_column", "talks_resume"])
def test_scenario_equals_whatif(example, scenario):
    """A scenario equals ``forecast whatif --scenario`` (the Python API: the CLI's own path)."""
    from forecast import api

    path, wb = example
    view = wb.evaluate(scenario=scenario)
    doc = api.whatif(path, scenario=scenario, sources=path.parent / "sources", draws=DRAWS, seed=SEED)
    _same_as_whatif(view, doc)
    assert view["label"] == doc["label"]
    assert view["method"] == ("reweighted" if scenario == "trust_column" else "paired intervention")
    assert view["touched"] == (["m1", "k2"] if scenario == "trust_column" else ["talks_fail"])


def test_stance_do_and_observe_equal_whatif(example):
    """A stance with a setting on top, an intervention and an observation together equal ``forecast whatif
    --priors --set --do --observe``."""
    from forecast import api

    path, wb = example
    kw = {"sets": {"claims.k2.credence": "0.6"}, "do": {"trade_diversion": 0.9}, "observe": {"coalition_crisis": True}}
    view = wb.evaluate(stance="skeptic", **kw)
    doc = api.whatif(path, alt_priors="skeptic", sets=kw["sets"], do={"trade_diversion": 0.9},
                     observe={"coalition_crisis": 1.0}, sources=path.parent / "sources", draws=DRAWS, seed=SEED)
    _same_as_whatif(view, doc)
    assert set(view["touched"]) == {"m1", "m3", "k2", "trade_diversion", "coalition_crisis"}


# --- saving a prior set -------------------------------------------------------------------------------------------

def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_save_prior_set_reproduces(example):
    from forecast import api

    path, wb = example
    sets = {"claims.m1.credence": "0.3", "claims.k2.strength": "moderate"}
    repo_before, folder_before = _files(ROOT / "priors"), _files(path.parent)
    saved = wb.save_prior_set("my_view", sets)
    assert saved == path.parent / "priors" / "trade_talks" / "my_view.toml"
    assert _files(path.parent) == folder_before | {saved}  # nothing else written, no temporary file left
    assert _files(ROOT / "priors") == repo_before
    assert tomllib.loads(saved.read_text())["prior_set"]["name"] == "my_view"
    assert "my_view" in wb.controls()["stances"]
    view = wb.evaluate(sets=sets)
    assert _numbers(wb.evaluate(stance="my_view")) == _numbers(view)
    common = {"sources": path.parent / "sources", "draws": DRAWS, "seed": SEED}
    _same_as_whatif(view, api.whatif(path, alt_priors="my_view", **common))
    # the saved set is the --set settings: forecast run --priors my_view is forecast run --set ..., number for number
    by_name, by_sets = api.run(path, "my_view", **common), api.run(path, sets=sets, **common)
    assert by_name["questions"] == by_sets["questions"]
    assert by_name["claims"] == by_sets["claims"]


def test_save_prior_set_refuses(example):
    path, wb = example
    wb.save_prior_set("kept", {"claims.m2.credence": "0.4"})
    kept = path.parent / "priors" / "trade_talks" / "kept.toml"
    text = kept.read_text()
    with pytest.raises(SpecError, match="kept.toml.*exists already"):
        wb.save_prior_set("kept", {"claims.m2.credence": "0.9"})
    assert kept.read_text() == text
    for bad in ("../x", "a b", "default", "", "x.toml", "_x", "a__b", None):
        with pytest.raises(SpecError, match="plain name"):
            wb.save_prior_set(bad, {})
    with pytest.raises(SpecError, match="credence 1.7 is outside"):
        wb.save_prior_set("bad_set", {"claims.m2.credence": "1.7"})
    with pytest.raises(SpecError, match="no such prior set"):
        wb.save_prior_set("bad_set", {}, stance="nobody")
    assert not (kept.parent / "bad_set.toml").exists()
    wb.save_prior_set("kept", {"claims.m2.credence": "0.9"}, overwrite=True)
    assert tomllib.loads(kept.read_text())["claims"]["m2"]["credence"] == 0.9


def test_save_prior_set_on_a_stance(tmp_path):
    """On top of a stance: its own entries kept, the setting added; a set that would extend itself is written out
    whole. Either way it resolves to the stance with the settings."""
    from forecast.explore.state import Workbench
    from forecast.spec.priorsets import load_prior_set

    path = _copy_model(tmp_path / "m")
    folder = path.parent / "priors" / "trade_talks"
    (folder / "child.toml").write_text('[prior_set]\nname = "child"\nextends = "skeptic.toml"\n\n'
                                       '[claims.k1]\nscale = 0.5\n')
    wb = Workbench(path, "skeptic", path.parent / "sources", draws=DRAWS, seed=SEED)  # no sampling needed
    dump = lambda ps: ps.model_dump(exclude={"files", "overrides", "prior_set"})  # noqa: E731
    sets = {"claims.m1.credence": "0.25", "variables.tariffs.base": "likely"}
    saved = wb.save_prior_set("on_skeptic", sets)  # the baseline here is skeptic
    data = tomllib.loads(saved.read_text())
    assert data["claims"]["m3"] == {"scale": 0.5} and data["claims"]["m1"] == {"scale": 0.5, "credence": 0.25}
    assert data["prior_set"]["extends"] == "default"
    assert dump(load_prior_set(saved)) == dump(load_prior_set(folder / "skeptic.toml", sets))
    saved = wb.save_prior_set("skeptic", sets, stance="child", overwrite=True)  # child extends skeptic: written whole
    assert tomllib.loads(saved.read_text())["prior_set"]["extends"] == "default"
    assert "probability_words" in tomllib.loads(saved.read_text())
    assert dump(load_prior_set(saved)) == dump(load_prior_set(folder / "child.toml", sets))


# --- bad input ------------------------------------------------------------------------------------------------------

BAD = [
    ({"sets": {"claims.m1.credence": "1.7"}}, "credence 1.7 is outside"),
    ({"sets": {"claims.m9.credence": "0.5"}}, "unknown claim"),
    ({"sets": {"variables.nope.base": "likely"}}, "unknown variable"),
    ({"sets": {"claims.m1.strength": "huge"}}, "unknown strength 'huge'"),
    ({"sets": {"claims.m1.credence": ""}}, "expected KEY=VALUE"),
    ({"sets": {"m1": "0.5"}}, "dotted key"),
    ({"scenario": "talks_resumed"}, "no such scenario"),
    ({"stance": "skeptc"}, "no such prior set"),
    ({"stance": "../priors/x.toml"}, "not a path"),
    ({"observe": {"trade_diversion": True}}, "index level must lie in"),
    ({"observe": {"tariffs": 0.5}}, "event takes true or false"),
    ({"do": {"nowhere": 1.0}}, "not a variable of the model"),
    ({"do": {"exporter_sentiment": 1.5}}, "index level must lie in"),
    ({"do": {"tariffs": "maybe"}}, "not true/false or a number"),
]


def test_bad_input(example, monkeypatch):
    """Each refused with the CLI's message before anything is simulated; the next good call works and agrees."""
    from forecast.analyses.session import Session

    _, wb = example
    good = wb.evaluate(sets={"claims.m1.credence": "0.3"})
    calls = []
    real = Session.variant
    monkeypatch.setattr(Session, "variant", lambda *a, **k: calls.append(1) or real(*a, **k))
    for kwargs, message in BAD:
        with pytest.raises(SpecError, match=message):
            wb.evaluate(**kwargs)
    assert calls == []  # nothing simulated, nothing sampled
    assert _numbers(wb.evaluate(sets={"claims.m1.credence": "0.3"})) == _numbers(good)


# --- fuzz ----------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_fuzz(example):
    """80 random control changes (the page's callbacks take 200 in tests/test_explore_browser.py): only ever a
    SpecError, else a well-formed view."""
    _, wb = example
    rng = np.random.default_rng(7)
    c = wb.controls()
    claims = [x["id"] for x in c["claims"]] + ["zz"]
    kinds = {v["id"]: v["kind"] for v in c["variables"]} | {"nowhere": "event"}
    questions = [q["id"] for q in c["questions"]]
    words = c["claims"][0]["strength_words"] + ["huge"]
    stances = [*c["stances"], "nobody", None, None, None]
    scenarios = [s["id"] for s in c["scenarios"]] + ["nothing", None, None, None]

    def value(kind: str):
        r = rng.random()
        if r < 0.1:  # the wrong type for the kind, or out of range
            return bool(rng.integers(2)) if kind == "index" else float(rng.choice([0.5, 2.0]))
        return bool(rng.integers(2)) if kind == "event" else float(rng.choice([0.2, 0.5, 0.8]))

    errors, methods, t0 = 0, set(), time.perf_counter()
    for _ in range(80):
        kw: dict = {}
        if rng.random() < 0.6:
            kw["sets"] = {}
            for cid in rng.choice(claims, size=rng.integers(1, 3), replace=False):
                if rng.random() < 0.7:
                    cred = rng.uniform(0, 1) if rng.random() < 0.85 else rng.choice([-0.2, 1.7])
                    kw["sets"][f"claims.{cid}.credence"] = f"{cred:.3f}"
                else:
                    kw["sets"][f"claims.{cid}.strength"] = str(rng.choice(words))
        if rng.random() < 0.25:
            kw["stance"] = stances[rng.integers(len(stances))]
        if rng.random() < 0.25:
            kw["scenario"] = scenarios[rng.integers(len(scenarios))]
        if rng.random() < 0.25:
            vid = str(rng.choice(list(kinds)))
            kw["do"] = {vid: value(kinds[vid])}
        if rng.random() < 0.1:
            vid = str(rng.choice(["tariffs", "coalition_crisis", "trade_diversion"]))
            kw["observe"] = {vid: value(kinds[vid])}
        try:
            view = wb.evaluate(**kw)
        except SpecError:
            errors += 1
            continue
        _well_formed(view, questions)
        methods.add(view["method"])
    assert 10 < errors < 150
    assert {"reweighted", "paired intervention", "fresh posterior", "baseline"} <= methods
    assert time.perf_counter() - t0 < 120


# --- Hanoi ----------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_hanoi_credence_change(tmp_path):
    """On Hanoi, a credence change equals ``forecast whatif --set`` (a separate process) exactly, and ``forecast run
    --set`` within Monte Carlo error."""
    seeds = ROOT.parent / "shared" / "seeds"
    if not HANOI.is_file() or not seeds.is_dir():
        pytest.skip("the Hanoi model or its sources are absent")
    from forecast.explore.state import Workbench

    wb = Workbench(HANOI, None, seeds, draws=300, seed=0, session_options={"tune": 300})
    view = wb.evaluate(sets={"claims.c23.credence": "0.85"})
    assert view["touched"] == ["c23"]
    common = ("--sources", str(seeds), "--seed", "0", "--draws", "300", "--tune", "300")
    _same_as_whatif(view, _cli("whatif", str(HANOI), "--set", "claims.c23.credence=0.85", *common))
    if view["method"] == "reweighted":  # a fresh posterior of the changed model: the same within Monte Carlo error
        run = _cli("run", str(HANOI), "--set", "claims.c23.credence=0.85", *common)["questions"]
        for q in view["questions"]:
            assert abs(q["mean"] - run[q["id"]]["mean"]) < 4 * np.hypot(q["mcse"], run[q["id"]]["mcse"]) + 0.01
