"""Engine behaviour: closed forms, determinism, paired what-ifs, no recompilation, saved results."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import EXAMPLE, ROOT

from forecast.analyses.session import Session, scenario_resolved
from forecast.analyses.store import load, save
from forecast.analyses.summary import compare, summarize
from forecast.compile import Numbers
from forecast.spec.errors import SpecError


@pytest.fixture(scope="module")
def forward(example_no_evidence):
    return Session(example_no_evidence, draws=1000, seed=3)


def test_root_event_matches_the_beta_mean(forward):
    """A root event's probability per draw is its base rate: its mean is the Beta's mean."""
    res = forward.run()
    beta = Numbers.of(forward.baseline).base["talks_fail"]["kwargs"]
    exact = beta["alpha"] / (beta["alpha"] + beta["beta"])
    x = res.outcomes["talks_fail"]
    assert abs(x.mean() - exact) <= 4 * x.std(ddof=1) / np.sqrt(len(x))


def tariffs_closed_form(session) -> tuple[np.ndarray, np.ndarray]:
    """P(tariffs | draw) by hand from the draw's parameters, and the Monte Carlo error of the engine's estimate.

    P(tariffs | draw) is E over the parent of sigmoid(logit b + effects)."""
    eng = session.runs.engines[0]
    th = eng.sample_theta(Numbers.of(session.baseline), session.seed)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    a = th["base__talks_fail"]
    eta1 = logit(th["base__tariffs"]) + th["gate__m1"] * th["effect__m1"] - th["gate__k2"] * th["effect__k2"]
    exact = a * sig(eta1) + (1 - a) * th["base__tariffs"]
    # R worlds per draw: the per-draw Monte Carlo error of a mean of R Bernoulli-weighted terms
    se = np.sqrt(a * (1 - a) / eng.R) * np.abs(sig(eta1) - th["base__tariffs"]) + 1e-9
    return exact, se


def test_child_event_matches_closed_form_given_each_draw(forward):
    """P(tariffs | draw) is E over the parent of sigmoid(logit b + effects): check it draw by draw."""
    res = forward.run()
    exact, se = tariffs_closed_form(forward)
    got = res.outcomes["tariffs"]
    assert np.mean(np.abs(got - exact) <= 5 * se) > 0.99
    assert abs(got.mean() - exact.mean()) <= 4 * np.sqrt(np.mean(se**2) / len(se)) + 1e-3


def test_every_elementwise_op_of_the_engine_is_one_numpy_call(forward):
    """The engine runs on PyTensor's Python linker: an elementwise op without a NumPy ufunc for its
    number of inputs (e.g. ``cast``, or an add of three terms) would run element by element in Python."""
    from pytensor.graph.basic import Constant
    from pytensor.tensor.elemwise import Elemwise
    from pytensor.tensor.shape import Shape

    def on_data(node):  # not bookkeeping on a shape (e.g. a mean's divisor) or on constants
        return any(not isinstance(i, Constant) and not (i.owner and isinstance(i.owner.op, Shape))
                   for i in node.inputs)

    forward.run()
    forward.run(do={"tariffs": 1.0})
    eng = forward.runs.engines[0]
    fns = [eng._theta_fn, *(wf.fn for wf in eng._world_fns.values())]
    assert len(fns) >= 3
    slow = [str(node) for fn in fns for node in fn.maker.fgraph.toposort() if isinstance(node.op, Elemwise)
            and on_data(node) and not (node.op.nfunc_spec and len(node.inputs) == node.op.nfunc_spec[1])]
    assert not slow, slow


def test_same_seed_same_numbers(example_no_evidence):
    a = Session(example_no_evidence, draws=300, seed=11).run()
    b = Session(example_no_evidence, draws=300, seed=11).run()
    c = Session(example_no_evidence, draws=300, seed=12).run()
    for k in a.outcomes:
        np.testing.assert_array_equal(a.outcomes[k], b.outcomes[k])
    assert any(not np.array_equal(a.outcomes[k], c.outcomes[k]) for k in a.outcomes)


def test_prior_whatif_reuses_compiled_functions(forward):
    forward.run()
    eng = forward.runs.engines[0]
    before = eng.compiles
    low = forward.run(forward.resolve(sets={"claims.m1.credence": "0.1"}))
    high = forward.run(forward.resolve(sets={"claims.m1.credence": "0.9"}))
    assert eng.compiles == before and len(forward.runs.engines) == 1
    # believing the tariff claim more must raise the tariff forecast, beyond Monte Carlo noise
    d = high.outcomes["tariffs"] - low.outcomes["tariffs"]
    assert d.mean() > 4 * d.std(ddof=1) / np.sqrt(len(d))


def test_intervention_is_paired_and_cuts_incoming_claims(forward):
    base = forward.run()
    alt = forward.run(do={"tariffs": 1.0})
    cmp = compare(base, alt, "tariffs")
    rows = {r["id"]: r for r in cmp["rows"]}
    assert rows["tariffs"]["whatif"]["mean"] == 1.0
    # talks_fail is upstream of the intervention: identical draws, zero change
    np.testing.assert_array_equal(base.outcomes["talks_fail"], alt.outcomes["talks_fail"])
    # the intervened variable's change against the closed form: do(tariffs = 1) minus P(tariffs | draw) by hand
    exact, se = tariffs_closed_form(forward)
    d = rows["tariffs"]["diff"]
    assert abs(d["mean"] - (1 - exact.mean())) <= 4 * np.sqrt(np.mean(se**2) / len(se)) + 1e-3, d
    assert d["lo"] <= d["mean"] <= d["hi"]
    # paired draws (common random numbers): a downstream change varies far less than the difference of two
    # independent runs would (its sd would be sqrt(var_a + var_b)); unpaired draws fail this
    a, b = alt.outcomes["coalition_crisis"], base.outcomes["coalition_crisis"]
    assert np.std(a - b, ddof=1) < 0.5 * np.sqrt(np.var(a, ddof=1) + np.var(b, ddof=1))
    d = rows["coalition_crisis"]["diff"]
    assert d["lo"] <= d["mean"] <= d["hi"] and d["mean"] > 4 * d["mcse"] > 0  # a tariff round raises the crisis risk
    changes = [abs(r["diff"]["mean"]) for r in cmp["rows"]]
    assert changes == sorted(changes, reverse=True)


def test_words_match_printed_probabilities(forward):
    summ = summarize(forward.run())
    bands = forward.baseline.priors.probability_words
    for d in list(summ["questions"].values()) + [v for v in summ["variables"].values() if v["kind"] == "event"]:
        lo, hi = bands[d["word"]]
        assert lo <= d["mean"] <= hi or d["mean"] < 0.01 or d["mean"] > 0.99


def test_bad_intervention_is_a_clear_error(forward):
    with pytest.raises(SpecError, match="not a variable of the model"):
        forward.run(do={"tarifs": 1.0})
    with pytest.raises(SpecError, match="an event takes"):
        forward.run(do={"tariffs": 2.0})


def test_saved_result_reloads_and_refuses_a_changed_model(forward, tmp_path):
    res = forward.run()
    model = tmp_path / "m.toml"
    model.write_text(forward.model_path.read_text())
    res.manifest["model_sha256"] = __import__("hashlib").sha256(model.read_bytes()).hexdigest()
    save(res, tmp_path / "out", summarize(res))
    idata = load(tmp_path / "out", model)
    np.testing.assert_allclose(idata.predictions["x__tariffs"].values[0], res.outcomes["tariffs"])
    assert not list((tmp_path / "out").glob(".forecast-*"))  # no temporary left behind
    model.write_text(model.read_text() + "\n# edited\n")
    with pytest.raises(SpecError, match="different version"):
        load(tmp_path / "out", model)


@pytest.mark.slow
def test_cli_run_and_whatif_json_shapes(tmp_path):
    cmd = [sys.executable, "-m", "forecast", "run", str(EXAMPLE), "--draws", "400", "--seed", "1", "--json",
           "--tune", "300", "--out", str(tmp_path / "res")]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) == {"as_of", "as_of_basis", "variables", "questions", "claims", "diagnostics", "manifest"}
    assert set(doc["variables"]["tariffs"]) >= {"mean", "lo", "hi", "word"}
    assert set(doc["claims"]["m1"]) == {"credence_prior", "credence_post"}
    assert {"r_hat_max", "ess_bulk_min", "ess_tail_min", "divergences", "warnings"} <= set(doc["diagnostics"])
    assert (tmp_path / "res" / "result.nc").is_file() and (tmp_path / "res" / "manifest.json").is_file()
    cmd = [sys.executable, "-m", "forecast", "whatif", str(EXAMPLE), "--scenario", "talks_resume", "--draws", "400",
           "--tune", "300", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["rows"]
    assert rows[0]["id"] == "talks_fail" and rows[0]["whatif"]["mean"] == 0.0


def test_scenario_with_prior_overrides_resolves(example_no_evidence):
    s = Session(example_no_evidence, draws=200)
    r, do = scenario_resolved(s, "trust_column")
    assert r.claims["k2"].credence == 0.8 and do == {}
    assert r.claims["m1"].credence == pytest.approx(s.baseline.claims["m1"].credence * 0.5)
