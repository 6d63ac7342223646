"""The Hanoi 2019 scenario: the model checks against the documents, covers them, and runs.

``forecast check ... --sources ../shared/seeds`` verifies every locator against
the three source documents (they sit beside the project in CI; without them
that test is skipped, the others do not need them).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from forecast.spec import load_model
from tests.conftest import ROOT

MODEL = ROOT / "models" / "hanoi_2019.toml"
PRIORS = ROOT / "priors" / "hanoi_2019"
SEEDS = ROOT.parent / "shared" / "seeds"
STANCES = ("ispsw", "icas", "nam", "skeptic")


def test_check_against_the_documents():
    if not SEEDS.is_dir():
        pytest.skip(f"the source documents are not here: {SEEDS} (../shared/seeds beside the repository) is missing")
    for priors in (None, *sorted(PRIORS.glob("*.toml"))):
        cmd = [sys.executable, "-m", "forecast", "check", str(MODEL), "--sources", str(SEEDS), "--json"]
        if priors:
            cmd += ["--priors", str(priors)]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        rep = json.loads(done.stdout)
        assert rep["ok"] and rep["errors"] == []
        counts = rep["counts"]
        assert counts["sources"] >= 3  # the three documents, and the dated sources of what happened since
        assert counts["claims"] >= 40 and counts["questions"] >= 15 and counts["scenarios"] >= 5


def test_coverage():
    m = load_model(MODEL)
    cited = Counter(c.source for c in m.claims)
    assert set(cited) == {s.id for s in m.sources if s.file is not None}  # every document is used
    assert min(cited.values()) >= 5, cited
    variables = {v.id: v for v in m.variables}
    for q in m.questions:
        assert q.variable in variables, q.id
        assert (q.threshold is not None) == (variables[q.variable].kind == "index"), q.id
        assert q.resolves_by.year in range(2019, 2026), q.id
    for required in ("summit_succeeded", "kim_stops_in_beijing", "third_summit_announced",
                     "europe_bans_huawei", "cost_sharing_settled"):
        assert m.scenario(required)
    assert {ev.source for ev in m.evidence} <= {s.id for s in m.sources}
    assert len(m.evidence) >= 4


@pytest.fixture(scope="module")
def session():
    from forecast.analyses.session import Session

    return Session(MODEL, priors=PRIORS / "baseline.toml", draws=100, seed=3, tune=100)  # runs, not precision


@pytest.mark.slow
def test_every_scenario_runs(session):
    from forecast.analyses.session import scenario_resolved
    from forecast.analyses.summary import compare

    base = session.run()
    for sc in session.model.scenarios:
        _, do = scenario_resolved(session, sc.id)
        alt = session.scenario(base, sc.id)
        table = compare(base, alt, sc.id)
        for row in table["rows"]:
            assert all(math.isfinite(row[k]["mean"]) for k in ("baseline", "whatif", "diff")), (sc.id, row["id"])
        for v, x in do.items():  # the intervention holds in every draw
            assert np.all(alt.outcomes[v] == x), (sc.id, v)


def test_stances_differ_where_the_documents_disagree():
    """ISPSW reads the breakdown as Beijing's gain and Kim's exit from the US track; Nam expects talks to go on.

    So under the ISPSW stance China's influence (q05) is higher and a further
    Trump-Kim meeting (q02) less likely than under the Nam stance.

    Forward simulation (no evidence) with common random numbers; the gap must
    exceed 4 Monte Carlo standard errors of the paired difference.
    """
    from forecast.analyses.session import Session
    from forecast.spec import load_prior_set
    from forecast.spec import resolve as resolve_spec

    s = Session(MODEL, draws=2000, seed=5)
    model = s.model.model_copy(update={"evidence": []})
    runs = {name: s.run(resolve_spec(model, load_prior_set(PRIORS / f"{name}.toml"))) for name in ("ispsw", "nam")}
    for key in ("q:q05", "q:q02"):
        diff = runs["ispsw"].outcomes[key] - runs["nam"].outcomes[key]
        se = diff.std(ddof=1) / math.sqrt(len(diff))
        assert abs(diff.mean()) > max(4 * se, 0.03), (key, diff.mean(), se)
    assert runs["ispsw"].mean("q:q05") > runs["nam"].mean("q:q05") + 0.1
    assert runs["nam"].mean("q:q02") > runs["ispsw"].mean("q:q02") + 0.05
