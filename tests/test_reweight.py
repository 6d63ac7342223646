"""Posterior credence and prior what-ifs under evidence, against closed forms.

Network: L -> B (claim ``LB``, credence kappa, fixed effect 1.5), B -> C (credence 1,
effect 2.0); L has a random base rate b_L ~ Beta(3.5, 6.5), so the posterior
needs NUTS; C is observed true. By the tower rule a Beta root acts as
Bernoulli(0.35), and with the gate g summed by hand every answer is a finite sum:

    P(L, g, B, C=1) = P(L) P(g) P(B | L, g) P(C=1 | B).

Tolerance: 4 Monte Carlo standard errors (of the per-draw outcome, over its
effective sample size) + 0.01, as in test_oracle.py.
"""

from __future__ import annotations

import itertools
import math

import arviz as az
import numpy as np
import pytest

from forecast.analyses.session import Session

MODEL = """
[model]
id = "reweight"
title = "Reweighting check"

[[sources]]
id = "src"
title = "Test source"
reliability = "A"
credibility = 1
file = "none.txt"

[[variables]]
id = "L"
label = "L"
kind = "event"
base = { dist = "Beta", kwargs = { alpha = 3.5, beta = 6.5 } }

[[variables]]
id = "B"
label = "B"
kind = "event"
base = 0.3

[[variables]]
id = "C"
label = "C"
kind = "event"
base = 0.4

[[claims]]
id = "LB"
cause = "L"
effect = "B"
direction = "raises"
strength = { dist = "DiracDelta", kwargs = { c = 1.5 } }
credence = 0.5
source = "src"
locator = "1"
paraphrase = "L raises B."

[[claims]]
id = "BC"
cause = "B"
effect = "C"
direction = "raises"
strength = { dist = "DiracDelta", kwargs = { c = 2.0 } }
credence = 1.0
source = "src"
locator = "1"
paraphrase = "B raises C."

[[evidence]]
id = "obs_C"
variable = "C"
date = 2024-01-01
source = "src"
value = true
"""


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def exact(kappa: float, base_l: float = 0.35) -> dict[str, float]:
    """P(L=1 | C=1), P(B=1 | C=1) and P(g=1 | C=1) by enumeration (``base_l``: the mean of L's Beta base)."""
    joint = {}
    for L, g, B in itertools.product((0, 1), repeat=3):
        pl = base_l if L else 1 - base_l
        pg = kappa if g else 1 - kappa
        pb1 = sigmoid(logit(0.3) + 1.5 * g * L)
        pc1 = sigmoid(logit(0.4) + 2.0 * B)
        joint[(L, g, B)] = pl * pg * (pb1 if B else 1 - pb1) * pc1
    z = sum(joint.values())
    return {
        "L": sum(p for (L, _, _), p in joint.items() if L) / z,
        "B": sum(p for (_, _, B), p in joint.items() if B) / z,
        "gate": sum(p for (_, g, _), p in joint.items() if g) / z,
    }


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = tmp_path_factory.mktemp("reweight") / "reweight.toml"
    path.write_text(MODEL)
    return Session(path, draws=1000, seed=2, tune=500, chains=2)


def tolerance(res, key: str) -> float:
    x = np.asarray(res.outcomes[key], dtype=float)
    w = res.weights if res.weights is not None else np.full(len(x), 1 / len(x))
    sd = math.sqrt(w @ (x - w @ x) ** 2)
    ess = az.ess(x.reshape(2, -1), method="bulk") if res.weights is None else 1 / np.sum(w**2)
    return 4 * sd / math.sqrt(min(len(x), float(ess))) + 0.01


def check_reweighted(base, alt, want: dict[str, float], guarded: str) -> None:
    """``alt`` (``base`` reweighted) matches the exact answers ``want`` for L and B within the tolerance.

    For each variable in ``guarded`` the check must be able to fail: the un-reweighted answer misses the
    exact one by more than that tolerance (a reweighting that did nothing would fail the first assert), and the
    reweighted answer moved away from the un-reweighted one by more than the tolerance."""
    for v in "LB":
        tol = tolerance(alt, v)
        assert abs(alt.mean(v) - want[v]) <= tol, (v, alt.mean(v), want[v], tol)
        if v in guarded:
            assert abs(base.mean(v) - want[v]) > tol, (v, base.mean(v), want[v], tol)
            assert abs(alt.mean(v) - base.mean(v)) > tol, (v, alt.mean(v), base.mean(v), tol)


@pytest.mark.slow
def test_posterior_credence_and_reweighting(session):
    base = session.run()
    want = exact(0.5)
    for v in "LB":
        assert abs(base.mean(v) - want[v]) <= tolerance(base, v), (v, base.mean(v), want[v])
    assert abs(base.credence_post["LB"] - want["gate"]) < 0.02, (base.credence_post["LB"], want["gate"])
    assert base.credence_post["BC"] == 1.0

    compiles = base.diagnostics["compiles"]
    alt = session.variant(base, session.resolve(sets={"claims.LB.credence": "0.9"}))
    assert alt.weights is not None and alt.diagnostics["pareto_k"] < 0.7
    assert alt.diagnostics["compiles"] == compiles  # no recompilation
    want9 = exact(0.9)
    # the credence moves P(L | C) by ~0.02, within L's tolerance (~0.03): only B and the gate can tell
    # a reweighting from none (B moves ~0.05, tolerance ~0.016; the gate ~0.38, tolerance 0.02)
    check_reweighted(base, alt, want9, guarded="B")
    assert abs(alt.credence_post["LB"] - want9["gate"]) < 0.02, (alt.credence_post["LB"], want9["gate"])
    assert abs(base.credence_post["LB"] - want9["gate"]) > 2 * 0.02


@pytest.mark.slow
def test_a_base_rate_change_reweights_by_the_prior_alone(session):
    """A base rate enters only the prior density of the draws, not the binaries' joint: the weights
    come from ``Posterior.prior_lp`` (no recovery call), equal the full recovery's, and the
    reweighted forecast matches enumeration under the new base (Beta(7, 3): mean 0.7)."""
    from dataclasses import replace

    from forecast.compile import Numbers

    base = session.run()
    new_r = session.resolve(sets={"variables.L.base": {"dist": "Beta", "kwargs": {"alpha": 7.0, "beta": 3.0}}})
    old, new = Numbers.of(base.resolved), Numbers.of(new_r)
    post = base.posterior
    calls, rec = [], post.recovery
    post = replace(post, recovery=replace(rec, recover=lambda *a, **k: calls.append(a) or rec.recover(*a, **k)))
    fast, logw = post.reweighted(old, new)
    assert not calls  # the shortcut: no recovery
    full, logw_full = replace(post, recovery=replace(post.recovery, prior_lp=None)).reweighted(old, new)
    assert calls  # the full route does call it
    np.testing.assert_allclose(logw, logw_full, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fast.config_probs, full.config_probs, rtol=1e-9, atol=1e-12)
    assert np.std(logw) > 0.1  # the change matters: the check can fail

    alt = session.variant(base, new_r)
    check_reweighted(base, alt, exact(0.5, base_l=0.7), guarded="LB")


@pytest.mark.slow
def test_a_variant_of_a_weighted_result_is_sampled_anew(session):
    """``variant`` of a result whose draws are weighted already (here: reweighted to credence 0.9): weighing the
    weighted draws again would ignore the first weights, so the second setting is a fresh posterior, and it
    matches enumeration under its own priors (credence 0.2, L's base Beta(7, 3): mean 0.7)."""
    base = session.run()
    first = session.variant(base, session.resolve(sets={"claims.LB.credence": "0.9"}))
    assert first.weights is not None
    beta73 = {"dist": "Beta", "kwargs": {"alpha": 7.0, "beta": 3.0}}
    r = session.resolve(sets={"claims.LB.credence": "0.2", "variables.L.base": beta73})
    assert session.reweighting(first, r) is None and session.reweighting(base, r) is not None
    second = session.variant(first, r)
    assert second.weights is None and second.posterior is not base.posterior
    check_reweighted(first, second, exact(0.2, base_l=0.7), guarded="L")
