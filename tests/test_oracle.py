"""Oracle tests: the engine against exact inference in pgmpy on small networks.

With every parameter fixed (a numeric ``base``, a ``DiracDelta`` strength) a
model is an ordinary Bayesian network of binary events:

    P(v = 1 | parents) = sigmoid(logit(base_v) + sum over claims of g * sign * beta * x_cause),

where an uncertain claim's gate ``g`` is a root node with P(g = 1) = its credence
(a certain claim has g = 1).

Each model under ``tests/oracle_models/`` is read here with ``tomllib`` and
rebuilt as a pgmpy ``DiscreteBayesianNetwork`` (so the two can never describe
different networks). Then, for forward simulation, evidence, interventions and
interventions with evidence, the engine's estimate of P(v = 1 | ...) is compared
with the exact value:

* no intervention: ``VariableElimination.query`` (with the evidence, if any);
* ``do`` ("had the intervention held", the engine's documented semantics in
  ``forecast/analyses/session.py`` and ``docs/semantics.md``): a variable not
  downstream of the intervention keeps its posterior given all evidence; a
  downstream one is the sum, over the joint posterior of the upstream variables
  given all evidence (claim gates included: they are roots, never downstream
  of an intervention), of its probability in the mutilated network (incoming
  edges of the intervened variables cut, their CPDs set to the intervened
  value), with the evidence downstream ignored. When no evidence lies
  downstream this equals pgmpy's ``CausalInference.query(..., do=...,
  evidence=...)``, which is asserted wherever pgmpy accepts the query, as a
  check of the oracle itself.

Tolerance: |estimate - exact| <= 4 * MCSE + 0.01. The estimate is the mean of
``res.outcomes[v]`` over the T draws. MCSE = sd / sqrt(ESS): for forward
simulation the draws are independent (ESS = T); after MCMC the ESS is arviz's
bulk ESS of that same per-draw outcome, split by chain, capped at T (the
outcome is what the estimate averages, so its autocorrelation is the one that
matters). With fixed parameters a latent event's per-draw outcome is the exact
enumeration P(v | evidence), identical in every draw (sd = 0, MCSE = 0), and a
simulated event varies only through the R worlds of each draw; hence the
absolute floor of 0.01, which also absorbs floating-point and enumeration
rounding. 4 * MCSE keeps a false alarm below ~1e-4 per comparison.
"""

from __future__ import annotations

import itertools
import math
import tomllib
import warnings
from functools import cache
from pathlib import Path

import arviz as az
import numpy as np
import pytest

with warnings.catch_warnings():  # pgmpy's own import-time deprecation notices (pytest turns warnings into errors)
    warnings.simplefilter("ignore")
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import CausalInference, VariableElimination
    from pgmpy.models import DiscreteBayesianNetwork

from forecast.analyses.session import Session

MODELS = Path(__file__).resolve().parent / "oracle_models"
DRAWS, SEED, TUNE, CHAINS = 1000, 1, 300, 2
FLOOR = 0.01


# --------------------------------------------------------------------------- the oracle


@cache
def network(name: str) -> dict:
    """Parents, base rates and signed effect sizes of a model file, and its file evidence.

    Every claim's strength must be fixed (``DiracDelta``). A claim with credence below 1 gets a gate: a
    root node ``gate:<claim>`` with P(on) = credence, a parent of the claim's effect that switches the
    claim's push. A base is a number, or (roots only) a Beta, which as a root is exactly Bernoulli(its mean).
    """
    doc = tomllib.loads((MODELS / f"{name}.toml").read_text())
    parents: dict[str, list[str]] = {v["id"]: [] for v in doc["variables"]}
    base, terms = {}, {v["id"]: [] for v in doc["variables"]}  # terms: (cause, gate or None, signed beta)
    for c in doc.get("claims", []):
        assert c["strength"]["dist"] == "DiracDelta", c["id"]
        sign = 1.0 if c["direction"] == "raises" else -1.0
        gate = None
        if c["credence"] < 1.0:
            gate = f"gate:{c['id']}"
            parents[gate], base[gate], terms[gate] = [], float(c["credence"]), []
            parents[c["effect"]].append(gate)
        parents[c["effect"]].append(c["cause"])
        terms[c["effect"]].append((c["cause"], gate, sign * float(c["strength"]["kwargs"]["c"])))
    for v in doc["variables"]:
        assert v["kind"] == "event"
        b = v["base"]
        if isinstance(b, dict):
            assert b["dist"] == "Beta" and not parents[v["id"]], v["id"]
            b = b["kwargs"]["alpha"] / (b["kwargs"]["alpha"] + b["kwargs"]["beta"])
        base[v["id"]] = float(b)
    evidence = {e["variable"]: float(e["value"]) for e in doc.get("evidence", [])}
    return {"parents": parents, "base": base, "terms": terms, "evidence": evidence}


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def pgmpy_network(name: str, do: dict[str, float] | None = None) -> DiscreteBayesianNetwork:
    """The model as a pgmpy network; with ``do``, the mutilated network."""
    net, do = network(name), do or {}
    parents = {v: ([] if v in do else ps) for v, ps in net["parents"].items()}
    bn = DiscreteBayesianNetwork([(p, v) for v, ps in parents.items() for p in ps])
    bn.add_nodes_from(parents)
    for v, ps in parents.items():
        if v in do:
            p1 = [[float(do[v])]]
        else:  # columns: parent states in itertools.product order (last parent fastest), as pgmpy expects
            p1 = []
            for xs in itertools.product((0, 1), repeat=len(ps)):
                x = dict(zip(ps, xs))
                p1.append(sigmoid(logit(net["base"][v]) + sum(
                    w * x[cause] * (x[gate] if gate else 1) for cause, gate, w in net["terms"][v])))
            p1 = [p1]
        p1 = np.array(p1)
        bn.add_cpds(TabularCPD(v, 2, np.vstack([1.0 - p1, p1]), evidence=ps or None,
                               evidence_card=[2] * len(ps) or None))
    assert bn.check_model()
    return bn


def descendants(name: str, roots) -> set[str]:
    children: dict[str, set[str]] = {v: set() for v in network(name)["parents"]}
    for v, ps in network(name)["parents"].items():
        for p in ps:
            children[p].add(v)
    seen, stack = set(), list(roots)
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(children[v])
    return seen


def _ve(bn: DiscreteBayesianNetwork, v: str, evidence: dict[str, int]) -> float:
    factor = VariableElimination(bn).query([v], evidence=evidence or None, show_progress=False)
    return float(factor.get_value(**{v: 1}))


def exact(name: str, v: str, evidence: dict[str, float] | None = None, do: dict[str, float] | None = None) -> float:
    """Exact P(v = 1) after ``do`` given ``evidence``, in pgmpy ("had do held", see the module docstring).

    Not downstream of the intervention: P(v | all evidence). Downstream:
    sum over the joint posterior of the upstream variables (given all evidence)
    of P(v | upstream states) in the mutilated network; evidence downstream is ignored. Only the upstream
    parents of the cut variables (the boundary) matter to P(v | upstream states), so the sum is over theirs.
    """
    do = {k: int(x) for k, x in (do or {}).items()}
    evidence = {k: int(x) for k, x in (evidence or {}).items()}
    if v in do:
        return float(do[v])
    if v in evidence and v not in descendants(name, do):
        return float(evidence[v])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = pgmpy_network(name)
        cut = descendants(name, do)
        if v not in cut:
            return _ve(full, v, evidence)
        up_ev = {k: x for k, x in evidence.items() if k not in cut}
        # in the mutilated network v depends on the upstream variables only through the boundary (the upstream
        # parents of the cut variables): their joint posterior is all the sum needs (exact, and small)
        parents = network(name)["parents"]
        boundary = {p for u in cut if u not in do for p in parents[u] if p not in cut}
        free_up = [u for u in parents if u in boundary and u not in up_ev]
        mutilated = pgmpy_network(name, do)
        if not free_up:
            p = _ve(mutilated, v, {**up_ev, **do})
        else:
            post = VariableElimination(full).query(free_up, evidence=evidence or None, show_progress=False)
            p = 0.0
            for states in itertools.product((0, 1), repeat=len(free_up)):
                config = dict(zip(free_up, states))
                p += float(post.get_value(**config)) * _ve(mutilated, v, {**up_ev, **config, **do})
        if len(up_ev) == len(evidence):  # no evidence downstream: pgmpy's do-calculus must agree
            try:
                q = CausalInference(full).query([v], do=do, evidence=evidence or None, show_progress=False)
            except ValueError as exc:  # pgmpy only answers for descendants of the intervention
                assert "Invalid causal query" in str(exc), exc
            else:
                assert abs(q.get_value(**{v: 1}) - p) < 1e-9, (name, v, do, evidence)  # the oracle agrees
    return p


# --------------------------------------------------------------------------- the engine


@pytest.fixture(scope="module")
def sessions():
    made: dict[str, Session] = {}

    def get(name: str) -> Session:
        if name not in made:
            made[name] = Session(MODELS / f"{name}.toml", draws=DRAWS, seed=SEED, tune=TUNE, chains=CHAINS)
        return made[name]

    return get


def run(session: Session, observe: dict[str, float], do: dict[str, float]):
    r = session.resolve(observe=observe) if observe else None
    return session.run(r, do=do or None)


def mcse(res, v: str) -> float:
    """Monte Carlo standard error of ``res.outcomes[v].mean()`` (see the module docstring)."""
    x = np.asarray(res.outcomes[v], dtype=float)
    sd = x.std(ddof=1)
    if sd < 1e-12:  # the same exact value in every draw
        return 0.0
    diag = res.diagnostics
    ess = float(len(x))
    if str(diag.get("method", "")).startswith("MCMC"):
        chains = int(diag.get("chains", 1))
        n = len(x) // chains * chains
        ess = min(ess, float(az.ess(x[:n].reshape(chains, -1), method="bulk")))
    return sd / math.sqrt(ess)


def compare(name: str, res, queries: str, evidence: dict[str, float], do: dict[str, float]) -> list[str]:
    """Mismatches between the engine and the oracle, one line each (empty if all match)."""
    bad = []
    for v in queries:
        est, se = float(res.outcomes[v].mean()), mcse(res, v)
        want, tol = exact(name, v, evidence, do), 4 * mcse(res, v) + FLOOR
        if not abs(est - want) <= tol:
            bad.append(f"{name}: P({v}=1 | evidence={evidence}, do={do}): engine {est:.4f} "
                       f"(mcse {se:.4f}), exact {want:.4f}, |diff| {abs(est - want):.4f} > tol {tol:.4f}")
    return bad


# --------------------------------------------------------------------------- cases

# (model, extra evidence (added to the file's), interventions, variables to query)
CASES = [
    # (1) chain A -> B -> C (no evidence in the file)
    ("chain", {}, {}, "ABC"),
    ("chain", {"C": 1.0}, {}, "AB"),  # evidence on a descendant of two latent events
    ("chain", {"C": 0.0}, {}, "AB"),
    ("chain", {"B": 1.0}, {}, "AC"),  # latent parent and a child simulated forward
    ("chain", {}, {"B": 1.0}, "ABC"),
    ("chain", {}, {"A": 0.0}, "BC"),
    ("chain", {"A": 1.0}, {"B": 0.0}, "ABC"),  # evidence upstream of the intervention: kept
    ("chain", {"C": 1.0}, {"B": 0.0}, "ABC"),  # evidence downstream: A keeps P(A | C), C is simulated
    # (2) collider A -> C <- B, C -> D (no evidence in the file)
    ("collider", {}, {}, "ABCD"),
    ("collider", {"C": 1.0}, {}, "ABD"),
    ("collider", {"C": 1.0, "A": 1.0}, {}, "BD"),  # explaining away
    ("collider", {"D": 1.0}, {}, "ABC"),  # evidence two steps below two latent roots
    ("collider", {}, {"C": 1.0}, "ABD"),
    ("collider", {"A": 1.0}, {"B": 1.0}, "ACD"),  # do with evidence not downstream of it
    # (3) latent L with children X (observed true in the file) and Y; R -> Y -> Z
    ("branch", {}, {}, "LXRYZ"),
    ("branch", {"Z": 1.0}, {}, "LRY"),  # a second observation, below Y
    ("branch", {}, {"R": 1.0}, "LYZ"),  # do with evidence (X) not downstream of it
    ("branch", {}, {"Y": 0.0}, "LRZ"),
    ("branch", {}, {"X": 0.0}, "LYZ"),  # evidence on the intervened variable: L keeps P(L | X=1)
    # (4) uncertain claims A -> B (observed) -> C <- R: gates summed out, recovered, kept after a do()
    ("gated", {}, {}, "ARC"),
    ("gated", {}, {"A": 1.0}, "RBC"),  # B simulated again with the gate of A -> B from its posterior
    ("gated", {"C": 1.0}, {}, "ARB"),
    ("gated", {"C": 1.0}, {"A": 1.0}, "RBC"),  # an observation downstream of the intervention
    # (6) 24 events, 18 latent upstream of the evidence: summed out one at a time, not enumerated
    ("wide", {}, {}, ["E03", "E07", "E12", "E16", "E19", "E21"]),
    ("wide", {}, {"E12": 1.0}, ["E03", "E13", "E15", "E16", "E18", "E21"]),  # gates below E12 from the posterior
    ("wide", {"E08": 0.0}, {"E14": 0.0}, ["E02", "E10", "E17", "E21"]),
]
SLOW_CASES = [  # the same network with a random Beta base rate on L: NUTS, and an ESS that matters
    ("branch_beta", {}, {}, "LYZ"),
    ("branch_beta", {}, {"R": 1.0}, "LYZ"),
]


def case_id(case) -> str:
    name, observe, do, _ = case
    fmt = lambda d: ",".join(f"{k}={int(x)}" for k, x in d.items()) or "-"  # noqa: E731
    return f"{name}|obs:{fmt(observe)}|do:{fmt(do)}"


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=case_id(c)) for c in CASES]
    + [pytest.param(c, id=case_id(c), marks=pytest.mark.slow) for c in SLOW_CASES],
)
def test_engine_matches_exact_inference(sessions, case):
    name, observe, do, queries = case
    res = run(sessions(name), observe, do)
    evidence = {**network(name)["evidence"], **observe}
    bad = compare(name, res, queries, evidence, do)
    assert not bad, "\n".join(bad) + f"\ndiagnostics: {res.diagnostics}"


# --------------------------------------------------------------------------- tests that must be able to fail


def distinct(name, v, a: dict, b: dict) -> tuple[float, float]:
    """Exact values of P(v) under two conditions ``a`` and ``b`` (dicts of evidence/do), asserted far apart."""
    pa, pb = exact(name, v, a.get("evidence"), a.get("do")), exact(name, v, b.get("evidence"), b.get("do"))
    assert abs(pa - pb) > 0.05, f"the oracle case is too weak: {pa:.4f} vs {pb:.4f}"
    return pa, pb


@pytest.mark.parametrize(
    "name, observe, v",
    [("chain", {"C": 1.0}, "A"), ("chain", {"C": 1.0}, "B"), ("chain", {"B": 1.0}, "A"),
     ("collider", {"D": 1.0}, "C"), ("collider", {"C": 1.0, "A": 1.0}, "B")],
)
def test_evidence_is_not_ignored(sessions, name, observe, v):
    """The conditional estimate must be told apart from the answer without (some of) the evidence.

    Compared against the exact answer with one observation fewer (the last one):
    this fails if the engine drops the evidence, or (collider, A and C observed)
    if it fails to explain away.
    """
    fewer = dict(list(observe.items())[:-1])
    p_with, p_without = distinct(name, v, {"evidence": observe}, {"evidence": fewer})
    res = run(sessions(name), observe, {})
    est, tol = float(res.outcomes[v].mean()), 4 * mcse(res, v) + FLOOR
    assert abs(est - p_without) > tol, (
        f"{name}: P({v} | {observe}) estimated {est:.4f} looks like P({v} | {fewer}) = {p_without:.4f} "
        f"(exact with the evidence: {p_with:.4f}): evidence ignored?"
    )
    assert abs(est - p_with) <= tol


def test_intervention_is_not_conditioning(sessions):
    """P(A | do(B=1)) is P(A) = 0.3; P(A | B=1) is higher: the engine must give the former."""
    p_do, p_obs = distinct("chain", "A", {"do": {"B": 1.0}}, {"evidence": {"B": 1.0}})
    res = run(sessions("chain"), {}, {"B": 1.0})
    est, tol = float(res.outcomes["A"].mean()), 4 * mcse(res, "A") + FLOOR
    assert abs(est - p_obs) > tol, f"P(A | do(B=1)) estimated {est:.4f} equals P(A | B=1) = {p_obs:.4f}"
    assert abs(est - p_do) <= tol


def test_gates_after_an_intervention_are_kept_from_the_posterior(sessions):
    """Had A been true, B is simulated again: the gate of A -> B is a parameter of the draw, kept from its
    posterior given B = 1 (0.73), not drawn from its prior credence (0.5), which would give the answer
    without the evidence (0.46 instead of 0.61)."""
    kept, prior = distinct("gated", "B", {"evidence": {"B": 1.0}, "do": {"A": 1.0}}, {"do": {"A": 1.0}})
    res = run(sessions("gated"), {}, {"A": 1.0})
    est, tol = float(res.outcomes["B"].mean()), 4 * mcse(res, "B") + FLOOR
    assert abs(est - kept) <= tol and abs(est - prior) > tol, (est, kept, prior, tol)


def test_run_and_whatif_agree_on_a_do_with_an_observation_downstream(sessions):
    """``--do A=1 --observe C=1`` (C downstream of A, outside the file evidence's ancestral set): the
    observation describes the actual world, so it informs the posterior (R, the gates) and C itself is
    simulated again. ``run`` and ``whatif`` must give the same exact answer; weighting the intervened
    worlds by C = 1 instead (conditioning in the mutilated network) gives another one."""
    s = sessions("gated")
    direct = s.run(s.resolve(observe={"C": 1.0}), do={"A": 1.0})
    _, alt, _, _ = s.whatif(observe={"C": 1.0}, do={"A": 1.0})
    evidence = {**network("gated")["evidence"], "C": 1.0}
    for res in (direct, alt):
        bad = compare("gated", res, "RBC", evidence, {"A": 1.0})
        assert not bad, "\n".join(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrong = _ve(pgmpy_network("gated", {"A": 1.0}), "R", {"A": 1, "C": 1})  # C = 1 in the hypothetical world
    want = exact("gated", "R", evidence, {"A": 1.0})
    assert abs(wrong - want) > 0.02 and abs(alt.mean("R") - wrong) > FLOOR / 2, (wrong, want)
    for v in "RBC":
        assert abs(alt.mean(v) - direct.mean(v)) <= 4 * mcse(direct, v) + 1e-9, v


def test_cli_run_and_whatif_print_the_same_answer():
    """The two commands, through the command line, on the same --do / --observe: the same numbers."""
    import json
    import subprocess
    import sys

    args = [str(MODELS / "gated.toml"), "--do", "A=1", "--observe", "C=1", "--json", "--draws", "400"]
    out = {}
    for cmd in ("run", "whatif"):
        proc = subprocess.run([sys.executable, "-m", "forecast", cmd, *args], capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
        out[cmd] = json.loads(proc.stdout)
    assert out["run"]["variables"]["B"]["status"] == "observed, simulated again"  # B = 1 seen, below A
    rows = {row["id"]: row["whatif"]["mean"] for row in out["whatif"]["rows"]}
    for v, got in out["run"]["variables"].items():
        assert rows[v] == pytest.approx(got["mean"], abs=1e-12), v


# --------------------------------------------------------------------------- leaving one observation out

WITHOUT_CASES = [  # (model, evidence added to the file's, observation left out, queries)
    ("collider", {"C": 1.0, "A": 1.0}, "observe_A", "ABD"),  # explaining away undone: P(. | C=1)
    ("collider", {"C": 1.0, "A": 1.0}, "observe_C", "BCD"),  # C latent again: P(. | A=1)
    ("chain", {"A": 1.0, "C": 0.0}, "observe_C", "BC"),
    ("wide", {"E16": 1.0}, "observe_E16", ["E10", "E12", "E16", "E21"]),  # eliminated: sampled anew without it
]


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c[0]}|drop:{c[2]}") for c in WITHOUT_CASES])
def test_leaving_an_observation_out_matches_exact_inference(sessions, case):
    """``Session.without`` (no new posterior: the dropped event becomes latent again) equals the exact answer
    given the remaining evidence; the check that it differs from the answer with it guards against a no-op."""
    name, observe, drop, queries = case
    s = sessions(name)
    base = s.run(s.resolve(observe=observe))
    res = s.without(base, drop)
    rest = {**network(name)["evidence"], **{k: x for k, x in observe.items() if f"observe_{k}" != drop}}
    assert not compare(name, res, queries, rest, {}), compare(name, res, queries, rest, {})
    moved = [v for v in queries if abs(exact(name, v, rest) - exact(name, v, {**rest, **observe})) > 0.05]
    assert moved, "the case is too weak"
    for v in moved:
        assert abs(float(res.outcomes[v].mean()) - exact(name, v, {**rest, **observe})) > FLOOR


OBSERVED_CASES = [  # (model, evidence added to the file's, a further observation of a latent event, queries)
    ("collider", {"C": 1.0}, {"A": 1.0}, "ABD"),  # explaining away: B drops once A is seen
    ("chain", {"C": 0.0}, {"A": 1.0}, "BC"),
    ("wide", {}, {"E10": 1.0}, ["E05", "E12", "E16", "E21"]),  # a unary factor in the elimination
]


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c[0]}|more:{','.join(c[2])}") for c in OBSERVED_CASES])
def test_a_further_observation_absorbed_by_the_draws_matches_exact_inference(sessions, case):
    """``Session.observed`` (no new posterior: the draws' latent configurations conditioned on the new
    observation) equals the exact answer given all the evidence, and differs from the answer without it."""
    name, observe, more, queries = case
    s = sessions(name)
    base = s.run(s.resolve(observe=observe))
    res = s.observed(base, s.resolve(observe={**observe, **more}))
    assert res is not None and res.weights is not None and "importance weights" in res.diagnostics["method"]
    assert np.allclose(res.weights, 1.0 / len(res.weights))  # fixed parameters: every draw equally likely
    before = {**network(name)["evidence"], **observe}
    assert not compare(name, res, queries, {**before, **more}, {}), compare(name, res, queries, {**before, **more}, {})
    moved = [v for v in queries if abs(exact(name, v, before) - exact(name, v, {**before, **more})) > 0.05]
    assert moved, "the case is too weak"
    for v in moved:
        assert abs(res.mean(v) - exact(name, v, before)) > FLOOR


def test_reweighting_skips_the_recovery_when_nothing_upstream_of_the_evidence_changes(sessions):
    """A prior change outside the evidence's ancestral set leaves every draw's weight at 1 without a
    recovery call; one inside it goes through the recovery."""
    from dataclasses import replace

    from forecast.compile import Numbers

    s = sessions("collider")
    base = s.run(s.resolve(observe={"A": 1.0}))  # ancestral set: {A}
    post, old = base.posterior, Numbers.of(base.resolved)
    calls = []
    rec = post.recovery
    spy = replace(post, recovery=replace(rec, recover=lambda *a, **k: calls.append(a) or rec.recover(*a, **k)))
    outside = Numbers.of(s.resolve(sets={"claims.C_D.strength": "strong"}, observe={"A": 1.0}))
    _, logw = spy.reweighted(old, outside)
    assert not calls and np.all(logw == 0.0)
    inside = Numbers.of(s.resolve(sets={"variables.A.base": "0.7"}, observe={"A": 1.0}))
    _, logw = spy.reweighted(old, inside)
    assert calls and np.ptp(logw) < 1e-9 and abs(logw[0]) > 1e-3  # fixed parameters: the same weight in every draw


LIKELIHOOD_CASES = [  # (model, evidence added to the file's, a further observation outside its ancestral set, queries)
    ("collider", {"A": 1.0}, {"C": 1.0}, "BD"),  # B is simulated, weighted by P(C = 1 | A = 1, B)
    ("chain", {"A": 1.0}, {"C": 0.0}, "B"),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c[0]}|more:{','.join(c[2])}") for c in LIKELIHOOD_CASES])
def test_a_further_observation_downstream_by_likelihood_weighting_matches_exact_inference(sessions, case):
    """An observation downstream of the evidence: the worlds are likelihood-weighted and the draws
    importance-weighted; the weighted mean matches pgmpy within 4 self-normalised standard errors."""
    name, observe, more, queries = case
    s = sessions(name)
    base = s.run(s.resolve(observe=observe))
    res = s.observed(base, s.resolve(observe={**observe, **more}))
    assert res is not None and res.weights is not None
    before = {**network(name)["evidence"], **observe}
    after = {**before, **more}
    for v, x in more.items():
        assert np.all(res.outcomes[v] == x)
    moved = 0
    for v in queries:
        x = np.asarray(res.outcomes[v], float)
        est = float(res.weights @ x)
        se = math.sqrt(float(res.weights**2 @ (x - est) ** 2))
        want = exact(name, v, after)
        assert abs(est - want) <= 4 * se + FLOOR, (name, v, est, want, se)
        moved += abs(exact(name, v, before) - want) > 0.05 and abs(est - exact(name, v, before)) > FLOOR
    assert moved, "the case is too weak, or the observation was not taken in"


@pytest.mark.slow
def test_leaving_the_file_evidence_out_with_sampled_parameters(sessions):
    """branch_beta: L has a Beta base rate, sampled by NUTS given X = 1. Leaving X out by importance
    weights must give back the forward (no-evidence) answer; tolerance from the weighted ESS."""
    s = sessions("branch_beta")
    base = s.run()
    (obs,) = base.resolved.evidence
    res = s.without(base, obs.id)
    assert res.diagnostics["pareto_k"] <= 0.7, res.diagnostics
    ess = min(res.diagnostics["ess_weights"], float(az.ess(res.outcomes["L"].reshape(CHAINS, -1), method="bulk")))
    for v in "LXYZ":
        x = np.asarray(res.outcomes[v], float)
        est = float(res.weights @ x)
        sd = math.sqrt(float(res.weights @ (x - est) ** 2))
        want = exact(name := "branch_beta", v, {})
        assert abs(est - want) <= 4 * sd / math.sqrt(ess) + FLOOR, (name, v, est, want)
