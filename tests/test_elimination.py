"""Summing the latent events out one at a time (issue 13: no exponential wall).

Beyond ``MAX_LATENT`` latent events the engine eliminates them in a min-fill order
(:mod:`forecast.compile.elimination`) instead of enumerating their 2**L joint states. Both paths are built from
the same equations (:meth:`forecast.compile.marginal.Marginal.local`), and every number the eliminated path
gives is checked here against a slower computation it replaces:

* against enumeration, on random models (those of ``test_equations``: events and indices, gates, soft reports,
  measured indices) at random parameters, forcing each path: the log likelihood NUTS samples, each latent
  event's posterior, each claim's P(real), with and without a further observation (a unary factor), to 1e-9;
* against brute-force sums on random factor graphs, for the NumPy elimination and its backward sampling (the
  joint of the draws within 5 binomial standard errors);
* against pgmpy's exact ``VariableElimination`` on an 18-latent-event network the enumeration refuses
  (``tests/oracle_models/wide.toml``, fixed parameters, so the engine's per-draw answers are exact): every
  latent event's posterior and every gate's to 1e-9. ``test_oracle.py`` runs the same network through
  interventions and further observations.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pymc as pm
import pytest
import tomli_w
from scipy.special import logsumexp

from forecast.analyses.recovery import Enumerated, Factored, build_recovery
from forecast.compile import Numbers, ancestral_set
from forecast.compile.elimination import log_partition, plan, sample
from forecast.compile.marginal import U, Z, build_marginal
from forecast.spec import load_model, load_prior_set, resolve
from tests.test_equations import random_model

T = 6  # parameter draws per model
MODELS = Path(__file__).resolve().parent / "oracle_models"


# --------------------------------------------------------------------------- NumPy elimination vs brute force

def random_factors(seed: int, n: int, batch: int = 4):
    rng = np.random.default_rng(seed)
    scopes = []
    for v in range(n):  # each variable with up to 3 earlier ones, axes in a random order
        pa = [int(u) for u in rng.choice(v, size=min(v, int(rng.integers(0, 4))), replace=False)] if v else []
        s = [v, *pa]
        rng.shuffle(s)
        scopes.append(tuple(s))
    scopes.append(())  # a constant factor
    logs = [rng.normal(0.0, 2.0, size=(batch, *([2] * len(s)))) for s in scopes]
    return scopes, logs


def brute(n: int, scopes, logs) -> np.ndarray:
    """(batch, 2**n): log of the product of the factors at every joint state."""
    out = np.zeros((logs[0].shape[0], 2**n))
    for k, x in enumerate(itertools.product([0, 1], repeat=n)):
        for s, lg in zip(scopes, logs):
            out[:, k] += lg[(slice(None), *(x[i] for i in s))]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_log_partition_equals_the_brute_force_sum(seed):
    n = 6 + seed
    scopes, logs = random_factors(seed, n)
    p = plan(n, scopes)
    got = log_partition(np, p, logs)
    np.testing.assert_allclose(got, logsumexp(brute(n, scopes, logs), axis=1), rtol=0, atol=1e-10)
    # a negative control: one factor's table moved in one entry changes the answer
    logs[2] = logs[2].copy()
    logs[2][(slice(None), *([0] * len(scopes[2])))] += 1.0
    assert np.all(np.abs(log_partition(np, p, logs) - got) > 1e-6)


def test_backward_sampling_draws_the_exact_joint():
    n, reps = 8, 20000
    scopes, logs = random_factors(11, n, batch=2)
    p = plan(n, scopes)
    _, kept = log_partition(np, p, logs, keep=True)
    x = sample(p, kept, reps, np.random.default_rng(0))  # (2, reps, n)
    probs = np.exp(brute(n, scopes, logs) - logsumexp(brute(n, scopes, logs), axis=1, keepdims=True))
    states = np.array(list(itertools.product([0, 1], repeat=n)), dtype=float)
    worst = 0.0
    for i, j in itertools.combinations_with_replacement(range(n), 2):  # every marginal and pairwise joint
        want = probs @ (states[:, i] * states[:, j])
        got = (x[:, :, i] * x[:, :, j]).mean(axis=1)
        se = np.sqrt(want * (1 - want) / reps) + 1e-12
        worst = max(worst, float(np.max(np.abs(got - want) / se)))
    assert worst < 5.0, worst


def test_width_follows_the_graph_not_the_count():
    """A chain of 60 events: min-fill eliminates it with width 1 (enumeration would need 2**60 states)."""
    p = plan(60, [(0,), *((i, i - 1) for i in range(1, 60))])
    assert p.width == 1
    grid = [(r * 6 + c, *([r * 6 + c - 1] if c else []), *([(r - 1) * 6 + c] if r else [])) for r in range(6)
            for c in range(6)]  # a 6 x 6 grid: tree-width 6
    assert plan(36, grid).width <= 7


# --------------------------------------------------------------------------- elimination vs enumeration

def both_paths(seed: int, folder: Path):
    path = folder / f"random{seed}.toml"
    path.write_text(tomli_w.dumps(random_model(seed)))
    r = resolve(load_model(path), load_prior_set())
    if not r.evidence:
        return None
    numbers = Numbers.of(r)
    nodes = ancestral_set(r, {o.variable for o in r.evidence})
    enum = build_marginal(r, numbers, nodes, method="enumerate")
    elim = build_marginal(r, numbers, nodes, method="eliminate")
    return r, numbers, enum, elim, random_draws(enum, seed, T)


def random_draws(mg, seed: int, T: int) -> dict[str, np.ndarray]:
    """``T`` draws of the marginal model ``mg``'s free variables: the prior vectors from their priors, the index
    levels (logit or non-centred) from a wide Normal."""
    rng = np.random.default_rng(seed)
    flat = {}
    for n in mg.layout.vectors:
        flat[n] = np.asarray(pm.draw(mg.model[n], draws=T, random_seed=seed), dtype=float).reshape(T, -1)
    for n in (U, Z):
        if n in mg.model.named_vars:
            flat[n] = rng.normal(0.0, 1.5, (T, int(mg.model[n].shape.eval()[-1])))
    return flat


SEEDS = [s for s in range(30) if s % 3 != 2]  # 20 models: 17 with evidence and latent events


def test_elimination_gives_the_enumerated_answers(tmp_path):
    compared = 0
    for seed in SEEDS:
        got = both_paths(seed, tmp_path)
        if got is None:
            continue
        r, numbers, enum, elim, flat = got
        assert not enum.eliminated and elim.eliminated
        a, b = build_recovery(enum, flat, T), build_recovery(elim, flat, T)
        rng = np.random.default_rng(seed)
        L = len(enum.latent)
        soft = np.log(rng.uniform(0.05, 0.95, (L, 2)))  # a further soft report on every latent event
        hard = np.zeros((L, 2))
        if L:
            hard[0, int(rng.integers(2))] = -np.inf  # and one observed outright
        for unary in (None, soft, soft + hard):
            lp_a, joint_a, gates_a, levels_a = a.recover(numbers, unary=unary)
            lp_b, joint_b, gates_b, levels_b = b.recover(numbers, unary=unary)
            assert isinstance(joint_a, Enumerated) and isinstance(joint_b, Factored)
            np.testing.assert_allclose(lp_b, lp_a, rtol=1e-12, atol=1e-9, err_msg=f"model {seed}")
            for v in enum.latent:
                np.testing.assert_allclose(joint_b.prob(v), joint_a.prob(v), atol=1e-9, err_msg=f"{seed} {v}")
            for c in gates_a:
                np.testing.assert_allclose(gates_b[c], gates_a[c], atol=1e-9, err_msg=f"{seed} {c}")
            for x, y in zip(levels_a, levels_b, strict=True):
                np.testing.assert_allclose(y, x, atol=1e-12)
        compared += bool(L)
    assert compared >= 12, compared  # enough models with latent events to mean something


# --------------------------------------------------------------------------- beyond the old limit, against pgmpy

def test_a_network_beyond_the_enumeration_limit_matches_pgmpy():
    from forecast.analyses.session import Session
    from tests import test_oracle as oracle

    s = Session(MODELS / "wide.toml", draws=50, seed=1, tune=50, chains=2)
    res = s.run()
    post = res.posterior
    assert isinstance(post.joint, Factored) and len(post.latent) > 12  # enumeration would refuse it
    evidence = oracle.network("wide")["evidence"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bn = oracle.pgmpy_network("wide")
    for v in post.latent:
        want = oracle._ve(bn, v, {k: int(x) for k, x in evidence.items()})
        np.testing.assert_allclose(post.event_prob(v), want, rtol=0, atol=1e-9, err_msg=v)
    gated = [c for c in post.gate_probs]
    assert gated
    for c in gated:
        want = oracle._ve(bn, f"gate:{c}", {k: int(x) for k, x in evidence.items()})
        np.testing.assert_allclose(post.gate_probs[c], want, rtol=0, atol=1e-9, err_msg=c)
