"""The model's two copies of the structural equations agree (issue 13).

The equations are written twice: per variable in :mod:`forecast.compile.builder` (the forward
model: ``eta__v`` deterministics from the parents' states and the parameters) and as row matrices in
:mod:`forecast.compile.marginal` (``Marginal.terms``: log p(configuration of the latent events,
evidence, index levels | parameters), claim gates summed out). A change to one and not the other
would make conditioning and simulation describe different models without any test noticing.

Here random small models (a seeded generator writing model TOML: events and indices, certain,
uncertain and zero-credence claims of both directions, several parents, explicit and word priors,
observed events, soft reports, measured indices) are resolved and compiled both ways. At random
parameter values (uniform inside each prior's support), for every configuration ``k`` of the latent
events and random index levels, ``Marginal.terms(values=...)[0][..., k]`` must equal the same log
likelihood computed from the forward model's equations:

* the builder's model with its parameters and every state fixed by ``pm.do`` (gates too, one world
  per gate combination) gives ``eta__v`` for every variable of the ancestral system;
* the test sums, over the gates (enumerated here, globally, weighted by the credences), of
  ``sum_v log p(x_v | eta_v)``: events Bernoulli(sigmoid(eta)); indices the logit-normal as the
  marginal's docstring defines it, Normal(u | eta, tau) on the logit scale u = logit x, plus
  log tau for an unmeasured index (its level is sampled non-centred, u = logit b + tau z, and the
  density is that of z); plus each soft report's Bernoulli(q x + (1 - q)(1 - x)).

Index measurements are not part of ``terms`` (an observed Normal of the marginal's model). So on every
third model the whole log density NUTS samples (the marginal model, observed, without value transforms)
is compared as well with the forward side's: the prior density of the system's random parameters (from
the builder's own random vectors) + logsumexp over configurations + Normal(m | level, sd) per measurement.

30 models, 4 parameter draws each, every configuration: 640 (draw, configuration) rows, about 40 000
forward worlds; agreement to 1e-8 relative (it is ~1e-16). Negative controls: a claim's sign reversed,
or a base rate nudged by 0.1 %, on the forward side only, must be detected by the same comparison.

The generator also writes one family in two parametrisations (a strength word, Gamma by mu and sigma,
beside an explicit Gamma by alpha and beta; a band-fitted Beta base beside a Beta by mu and sigma):
two random vectors, named apart (the last test; the builder once failed on it).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
import tomli_w
from pymc.model.transform.conditioning import remove_value_transforms
from pytensor.compile.mode import Mode
from scipy.special import logsumexp
from scipy.stats import norm

from forecast.compile import Numbers, ancestral_set
from forecast.compile.builder import GATE, build
from forecast.compile.marginal import Marginal, U, Z, build_marginal
from forecast.compile.vectors import Layout
from forecast.spec import load_model, load_prior_set, resolve
from forecast.spec.resolve import Resolved

N_MODELS = 30
P = 4  # parameter draws per model (the ``lead`` batch dimension of the marginal)
SEED = 20240613
DENSITY_EVERY = 3  # the sampled model's whole density is compared on every third model
RTOL = 1e-8
FAST = Mode(linker="py", optimizer=None)  # no C compilation: the graphs are small, the arrays not

WORDS = ["almost no chance", "very unlikely", "unlikely", "roughly even chance", "likely", "very likely",
         "almost certain"]
RANGES = ["10-30%", "15-35%", "20-40%", "30-50%", "35-55%", "40-60%", "55-75%"]  # fitted in maxent_beta.json


# --------------------------------------------------------------------------- random models


def _base(rng) -> object:
    """A base rate (event) or typical level (index) in one of the ways a file may give it."""
    k = rng.integers(6)
    if k == 0:
        return str(rng.choice(WORDS))
    if k == 1:
        return str(rng.choice(RANGES))
    if k == 2:
        return round(float(rng.uniform(0.05, 0.95)), 3)
    if k == 3:  # beside band-fitted Betas (alpha, beta): by mu and sigma too
        if rng.integers(2):
            return {"dist": "Beta", "kwargs": {"mu": round(float(rng.uniform(0.2, 0.8)), 3), "sigma": 0.1}}
        return {"dist": "Beta", "kwargs": {"alpha": round(float(rng.uniform(0.5, 6)), 3),
                                           "beta": round(float(rng.uniform(0.5, 6)), 3)}}
    if k == 4:
        lo = round(float(rng.uniform(0.02, 0.5)), 3)
        return {"dist": "Uniform", "kwargs": {"lower": lo, "upper": round(lo + float(rng.uniform(0.1, 0.45)), 3)}}
    return None  # the prior set's default


def _noise(rng) -> dict | None:
    k = rng.integers(5)
    if k == 0:
        return {"dist": "Gamma", "kwargs": {"mu": round(float(rng.uniform(0.3, 1.0)), 3), "sigma": 0.2}}
    if k == 1:
        return {"dist": "LogNormal", "kwargs": {"mu": -0.7, "sigma": 0.3}}
    if k == 2:
        return {"dist": "HalfNormal", "kwargs": {"sigma": 0.8}}
    if k == 3:
        return {"dist": "DiracDelta", "kwargs": {"c": round(float(rng.uniform(0.2, 1.2)), 3)}}
    return None


def _strength(rng) -> object:
    k = rng.integers(7)
    if k <= 1:
        return str(rng.choice(["weak", "moderate", "strong"]))
    if k == 2:  # by mu and sigma, as the words, or by alpha and beta beside them: see the last test
        kwargs = {"mu": 1.5, "sigma": 0.8} if rng.integers(2) else {"alpha": 3.0, "beta": 2.0}
        return {"dist": "Gamma", "kwargs": kwargs}
    if k == 3:
        return {"dist": "Normal", "kwargs": {"mu": 0.5, "sigma": 1.0}}
    if k == 4:
        return {"dist": "DiracDelta", "kwargs": {"c": round(float(rng.uniform(0.3, 2.5)), 3)}}
    if k == 5:
        return {"dist": "TruncatedNormal", "kwargs": {"mu": 1.0, "sigma": 1.0, "lower": 0.0, "upper": 3.0}}
    return {"dist": "LogNormal", "kwargs": {"mu": 0.0, "sigma": 0.5}}


def random_model(seed: int) -> dict:
    """A model file (as a TOML document) drawn from ``seed``: 3-7 variables, a random DAG, evidence."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 8))
    day = dt.date(2024, 1, 1)
    sources = [{"id": f"s{i}", "title": "t", "reliability": str(rng.choice(list("ABCDEF"))),
                "credibility": int(rng.integers(1, 7)), "file": "none.txt"} for i in range(3)]
    variables, claims, evidence = [], [], []
    kinds = ["index" if rng.random() < 0.35 else "event" for _ in range(n)]
    for i in range(n):
        v = {"id": f"v{i}", "label": f"v{i}", "kind": kinds[i]}
        base = _base(rng)
        if base is not None:
            v["base"] = base
        if kinds[i] == "index" and (noise := _noise(rng)) is not None:
            v["noise"] = noise
        variables.append(v)
        parents = [j for j in range(i) if rng.random() < 0.55][:3]  # variables are numbered in a causal order
        for j in parents:
            c = {"id": f"c{j}_{i}", "cause": f"v{j}", "effect": f"v{i}",
                 "direction": str(rng.choice(["raises", "lowers"])), "strength": _strength(rng),
                 "source": str(rng.choice([s["id"] for s in sources])), "locator": "1", "paraphrase": "p"}
            k = rng.random()
            if k < 0.27:
                c["credence"] = 1.0
            elif k < 0.72:
                c["credence"] = round(float(rng.uniform(0.05, 0.95)), 3)  # a gate
            elif k < 0.8:
                c["credence"] = 0.0  # left out
            elif k < 0.9:
                c["credence"] = str(rng.choice(WORDS[1:-1]))
            # else: from the source's grade
            claims.append(c)
    for i, kind in enumerate(kinds):
        src = str(rng.choice([s["id"] for s in sources]))
        if kind == "index":
            if rng.random() < 0.45:
                evidence.append({"id": f"m{i}", "variable": f"v{i}", "date": day, "source": src,
                                 "value": round(float(rng.uniform(0.05, 0.95)), 3),
                                 "sd": round(float(rng.uniform(0.02, 0.3)), 3)})
            continue
        if rng.random() < 0.3:
            evidence.append({"id": f"o{i}", "variable": f"v{i}", "date": day, "source": src,
                             "value": bool(rng.random() < 0.5)})
        for s in range(int(rng.integers(0, 3)) if rng.random() < 0.4 else 0):
            e = {"id": f"r{i}_{s}", "variable": f"v{i}", "date": day, "source": src,
                 "value": bool(rng.random() < 0.5), "soft": True}
            if rng.random() < 0.5:
                e["grade"] = f"{rng.choice(list('ABCDEF'))}{rng.integers(1, 7)}"
            evidence.append(e)
    if not evidence:  # conditioning needs something to condition on: a report on the last variable
        last = variables[-1]
        evidence.append({"id": "last", "variable": last["id"], "date": day, "source": "s0",
                         "value": 0.4 if last["kind"] == "index" else True,
                         **({"sd": 0.1} if last["kind"] == "index" else {"soft": True})})
    order = rng.permutation(n)  # the file's order is not the causal order
    return {"model": {"id": f"random{seed}", "title": "random"}, "sources": sources,
            "variables": [variables[j] for j in order], "claims": [claims[j] for j in rng.permutation(len(claims))],
            "evidence": evidence}


# --------------------------------------------------------------------------- parameter values


def draw_value(prior: dict, rng, size: int) -> np.ndarray:
    """Values of one parameter, uniform inside (a comfortable part of) its prior's support."""
    kw = prior["kwargs"]
    dist = prior["dist"]
    if dist == "DiracDelta":
        return np.full(size, float(kw["c"]))
    if dist in ("Uniform", "TruncatedNormal"):
        lo, hi = kw.get("lower", 0.0), kw.get("upper", 1.0)
        return rng.uniform(lo + 0.01 * (hi - lo), hi - 0.01 * (hi - lo), size)
    if dist == "Beta":
        return rng.uniform(0.03, 0.97, size)
    if dist == "Normal":
        return rng.uniform(-3.0, 3.0, size)
    return rng.uniform(0.1, 2.5, size)  # Gamma, LogNormal, HalfNormal: positive


def logit(p):
    return np.log(p) - np.log1p(-p)


# --------------------------------------------------------------------------- the two computations


@dataclass
class Case:
    """One random model compiled both ways, P parameter draws and random index levels."""

    seed: int
    r: Resolved
    numbers: Numbers
    nodes: set[str]  # the system the marginal is built on (the evidence's ancestral set, or everything)
    mg: Marginal
    theta: dict[tuple[str, str], np.ndarray]  # (kind, ident) -> (P,): every base rate, effect size, noise
    u: dict[str, np.ndarray]  # index -> (P,) logit level
    terms_fn: Callable  # the marginal's terms(values, lead=(P,))[0]: (P, K)
    density_fn: Callable | None  # the marginal's observed model's log density (no transforms), one draw
    density_inputs: list[str]
    forward_fn: Callable  # the builder's eta__v of the system's variables, and its prior log densities
    forward_inputs: list[str]  # the builder's parameter vectors, then every state
    dtypes: list[str]
    layout: Layout  # the builder's
    gates: list[str]  # the uncertain claims into the system: enumerated by the forward side
    combos: np.ndarray  # (G, len(gates)) their combinations

    @property
    def K(self) -> int:
        return len(self.mg.configs)

    @property
    def G(self) -> int:
        return len(self.combos)


def compile_case(seed: int, folder) -> Case:
    rng = np.random.default_rng(seed + 1)
    path = folder / f"random{seed}.toml"
    path.write_text(tomli_w.dumps(random_model(seed)))
    r = resolve(load_model(path), load_prior_set())
    numbers = Numbers.of(r)
    nodes = ancestral_set(r, {o.variable for o in r.evidence})
    if seed % 4 == 0:  # the whole model as the system: variables downstream of the evidence too
        nodes = set(r.order)

    theta = {}
    for kind, table in (("base", numbers.base), ("effect", numbers.effect), ("noise", numbers.noise)):
        for ident, prior in table.items():
            theta[(kind, ident)] = draw_value(prior, rng, P)
    u = {v: rng.normal(0.0, 1.5, P) for v in r.order if r.variables[v].kind == "index"}

    # the marginal: terms() of the P draws at once; and its observed model's density, as NUTS sees it
    mg = build_marginal(r, numbers, nodes)
    names = [*mg.layout.vectors, *(n for n in (U, Z) if n in mg.model.named_vars)]
    batched = {n: pt.tensor(n, shape=(P, mg.model[n].type.shape[-1]), dtype=mg.model[n].dtype) for n in names}
    terms_fn = pytensor.function(list(batched.values()), mg.terms(batched, (P,))[0], mode=FAST)
    density_fn, density_inputs = None, []
    if seed % DENSITY_EVERY == 0:  # PyMC's logprob derivation of the whole model is the slow part: some models
        plain = remove_value_transforms(pm.observe(mg.model, mg.evidence))
        density_fn = pytensor.function(plain.value_vars, plain.logp(), mode=FAST)
        density_inputs = [v.name for v in plain.value_vars]

    # the forward model: one world per (draw, configuration, gate combination), parameters and states fixed
    gates = [c for c in r.claims if r.claims[c].effect in nodes and 0.0 < numbers.credence[c] < 1.0]
    combos = np.array(list(itertools.product([0.0, 1.0], repeat=len(gates))), dtype=float)
    combos = combos.reshape(2 ** len(gates), len(gates))
    b = build(r, numbers, draws=P * len(mg.configs) * len(combos), reps=1)
    inputs = {n: pt.tensor(f"in__{n}", shape=b.model[n].type.shape, dtype=b.model[n].dtype)
              for n in [*b.layout.vectors, *r.order]}
    fixed = pm.do(b.model, inputs)
    etas = [fixed[f"eta__{v}"] for v in r.order if v in nodes]
    priors = [pm.logp(b.model[n], inputs[n]) for n in b.layout.vectors if n != GATE]  # (T, n) each
    forward_fn = pytensor.function(list(inputs.values()), [*etas, *priors], mode=FAST, on_unused_input="ignore")
    return Case(seed, r, numbers, nodes, mg, theta, u, terms_fn, density_fn, density_inputs,
                forward_fn, list(inputs), [x.dtype for x in inputs.values()], b.layout, gates, combos)


def marginal_args(case: Case) -> dict[str, np.ndarray]:
    """The marginal's free variables (P, n) at the case's parameters and levels."""
    mg = case.mg
    out = {name: np.column_stack([case.theta[(kind, i)] for i in ids])
           for name, (kind, ids) in mg.layout.vectors.items()}
    if U in mg.model.named_vars:  # measured indices: their logit level
        out[U] = np.column_stack([case.u[v] for v in mg.model.coords["u__id"]])
    if Z in mg.model.named_vars:  # unmeasured ones: non-centred about the base rate, u = logit b + tau z
        out[Z] = np.column_stack([(case.u[v] - logit(case.theta[("base", v)])) / case.theta[("noise", v)]
                                  for v in mg.model.coords["z__id"]])
    return out


def marginal_joint(case: Case) -> np.ndarray:
    """(P, K): the marginal's log p(configuration k, evidence, levels | parameters)."""
    args = marginal_args(case)
    return np.asarray(case.terms_fn(*args.values()), dtype=float).reshape(P, case.K)


def marginal_density(case: Case) -> np.ndarray:
    """(P,): the log density NUTS samples (priors, the summed potential, measurements), draw by draw."""
    args = marginal_args(case)
    return np.array([case.density_fn(*(args[n][p] for n in case.density_inputs)) for p in range(P)], dtype=float)


def forward(case: Case, theta: dict | None = None, sign_flip: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(P, K) log p(configuration k, evidence, levels | parameters) from the forward model's equations (gates
    summed here), and (P,) the log prior density of the system's random parameters.

    ``theta`` (default: the case's) and ``sign_flip`` (a claim whose push is reversed) change the forward side
    only: the negative controls."""
    r, mg, theta = case.r, case.mg, theta or case.theta
    K, G = case.K, case.G
    shape, T = (P, K, G), P * K * G
    observed = {o.variable: o.value for o in r.evidence if o.kind == "event"}
    measured = {o.variable for o in r.evidence if o.kind == "index"}
    latent = [v for v in r.order if v in case.nodes and r.variables[v].kind == "event" and v not in observed]
    assert mg.latent == latent  # the marginal's configurations: every joint state of these, once
    assert sorted(map(tuple, mg.configs)) == sorted(itertools.product([0.0, 1.0], repeat=len(latent)))

    def world(x: np.ndarray) -> np.ndarray:  # values broadcastable to (P, K, G) -> the T worlds
        return np.broadcast_to(x, shape).reshape(T)

    states = {}
    for v in r.order:
        if r.variables[v].kind == "index":
            states[v] = world(1.0 / (1.0 + np.exp(-case.u[v][:, None, None])))
        elif v in latent:
            states[v] = world(mg.configs[:, latent.index(v)][None, :, None])
        else:  # observed, or outside the system (where it does not matter)
            states[v] = world(np.full((1, 1, 1), float(observed.get(v, 0.0))))
    args = []  # the builder's parameter vectors (T, n), then every state (T, 1)
    for name in case.forward_inputs:
        if name in r.variables:
            args.append(states[name][:, None])
            continue
        kind, ids = case.layout.vectors[name]
        cols = []
        for i in ids:
            if kind == "gate":  # on in the worlds of the combinations where it is on; other gates off
                x = case.combos[:, case.gates.index(i)][None, None, :] if i in case.gates else np.zeros(1)
            else:
                x = (-theta[(kind, i)] if i == sign_flip else theta[(kind, i)])[:, None, None]
            cols.append(world(x))
        args.append(np.column_stack(cols))
    out = case.forward_fn(*(np.asarray(a, dtype=d) for a, d in zip(args, case.dtypes)))
    system = [v for v in r.order if v in case.nodes]
    eta = {v: np.asarray(e, dtype=float).reshape(shape) for v, e in zip(system, out)}

    lp = np.zeros(shape)
    for v, e in eta.items():
        x = states[v].reshape(shape)
        if r.variables[v].kind == "event":  # Bernoulli(sigmoid(eta))
            lp += np.where(x == 1.0, -np.logaddexp(0.0, -e), -np.logaddexp(0.0, e))
        else:  # Normal(u | eta, tau) on the logit scale; an unmeasured level's density is that of z: + log tau
            tau = theta[("noise", v)][:, None, None]
            lp += -0.5 * ((case.u[v][:, None, None] - e) / tau) ** 2 - np.log(tau) - 0.5 * np.log(2 * np.pi)
            if v not in measured:
                lp += np.log(tau)
    for o in r.evidence:
        if o.kind == "soft" and o.variable in case.nodes:  # a report of accuracy q: Bernoulli(q x + (1-q)(1-x))
            x = states[o.variable].reshape(shape)
            yes = o.accuracy * x + (1.0 - o.accuracy) * (1.0 - x)
            lp += np.log(yes if o.value == 1.0 else 1.0 - yes)
    kappa = np.array([case.numbers.credence[c] for c in case.gates])
    logw = (case.combos * np.log(kappa) + (1.0 - case.combos) * np.log1p(-kappa)).sum(axis=1)  # (G,) gate priors
    joint = logsumexp(lp + logw, axis=-1)

    # the prior density of the system's random parameters: base rates and noise of its variables, effects of
    # the claims into it that can be real; fixed (DiracDelta) values are no random variable
    inside = {("base", v) for v in system} | {("noise", v) for v in system if r.variables[v].kind == "index"}
    inside |= {("effect", c) for c in r.claims if r.claims[c].effect in case.nodes and case.numbers.credence[c] > 0}
    prior = np.zeros(P)
    vectors = [n for n in case.forward_inputs if n in case.layout.vectors and n != GATE]
    for name, logp in zip(vectors, out[len(system):]):
        kind, ids = case.layout.vectors[name]
        logp = np.asarray(logp, dtype=float).reshape(P, K, G, len(ids))[:, 0, 0]
        prior += sum(logp[:, j] for j, i in enumerate(ids) if (kind, i) in inside)
    return joint, prior


def forward_density(case: Case) -> np.ndarray:
    """(P,): the forward side's log p(parameters, evidence, levels): prior + the configurations summed +
    each index measurement, Normal(m | level, sd)."""
    joint, prior = forward(case)
    meas = sum((norm.logpdf(o.value, 1.0 / (1.0 + np.exp(-case.u[o.variable])), o.sd)
                for o in case.r.evidence if o.kind == "index"), np.zeros(P))
    return prior + logsumexp(joint, axis=-1) + meas


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> list[Case]:
    folder = tmp_path_factory.mktemp("equation_models")
    with pytensor.config.change_flags(traceback__limit=0):  # no stack trace kept per graph node: 25 % faster
        return [compile_case(SEED + i, folder) for i in range(N_MODELS)]


def test_the_random_models_cover_the_format(cases):
    """The generator reaches every kind of term (else the comparison below could pass vacuously)."""
    seen = Counter()
    for case in cases:
        r, nodes = case.r, case.nodes
        kinds = {o.variable: o.kind for o in r.evidence if o.kind != "soft"}
        inner = [r.claims[c] for c in r.claims if r.claims[c].effect in nodes]
        seen["latent events"] += case.K > 1
        seen["observed events"] += any(k == "event" for k in kinds.values())
        seen["soft reports"] += any(o.kind == "soft" for o in r.evidence)
        seen["measured indices"] += any(k == "index" for k in kinds.values())
        seen["free indices"] += any(r.variables[v].kind == "index" and v not in kinds for v in nodes)
        seen["gates"] += len(case.gates) > 0
        seen["certain claims"] += any(c.credence == 1.0 for c in inner)
        seen["left-out claims"] += any(c.credence == 0.0 for c in inner)
        seen["lowers"] += any(c.sign == -1 for c in inner)
        seen["index causes"] += any(r.variables[c.cause].kind == "index" for c in inner)
        seen["index effects"] += any(r.variables[c.effect].kind == "index" for c in inner)
        seen["several parents"] += any(len(r.variables[v].claims_in) > 1 for v in nodes)
        seen["random parameters"] += bool(case.mg.layout.vectors)
        forms = {(p["dist"], tuple(sorted(p["kwargs"]))) for p in [*case.numbers.effect.values(),
                                                                     *case.numbers.base.values()]}
        seen["a family in two parametrisations"] += len({d for d, _ in forms}) < len(forms)
        seen["whole model"] += nodes == set(r.order) and len(nodes) > len(ancestral_set(r, kinds))
    assert all(seen[k] >= 3 for k in seen) and len(seen) == 15, seen


def test_marginal_terms_equal_the_forward_equations(cases):
    """Marginal.terms(values) == the forward model's sum over variables of log p(x_v | parents), gates summed,
    for every configuration of every model at every draw."""
    checked = 0
    for case in cases:
        got, (want, _) = marginal_joint(case), forward(case)
        assert np.all(np.isfinite(want))
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=0.0, err_msg=f"model random{case.seed}")
        checked += want.size
    assert checked >= 300


def test_the_sampled_density_equals_the_forward_one(cases):
    """The marginal's observed model (what NUTS samples) == prior + configurations summed + measurements."""
    checked = 0
    for case in cases:
        if case.density_fn is not None:
            np.testing.assert_allclose(marginal_density(case), forward_density(case), rtol=RTOL, atol=0.0,
                                       err_msg=f"model random{case.seed}")
            checked += 1
    assert checked >= N_MODELS // DENSITY_EVERY


def test_the_comparison_detects_a_changed_equation(cases):
    """Negative controls: a claim's sign reversed, or one base rate nudged by 0.1 %, on the forward side only."""
    flipped = nudged = 0
    for case in cases:
        r = case.r
        observed = {o.variable: o.value for o in r.evidence if o.kind == "event"}
        got = marginal_joint(case)
        claims = [c for c in r.claims if r.claims[c].effect in case.nodes and case.numbers.credence[c] > 0
                  and observed.get(r.claims[c].cause) != 0.0  # a cause observed false pushes nothing
                  and case.numbers.effect[c]["dist"] != "DiracDelta"]  # a fixed strength is the builder's constant
        if claims:
            with pytest.raises(AssertionError):
                np.testing.assert_allclose(got, forward(case, sign_flip=claims[0])[0], rtol=RTOL, atol=0.0)
            flipped += 1
        free = [(k, i) for k, i in case.theta if k == "base" and i in case.nodes
                and case.numbers.base[i]["dist"] != "DiracDelta"]
        if free:
            theta = dict(case.theta)
            theta[free[0]] = theta[free[0]] * 1.001
            with pytest.raises(AssertionError):
                np.testing.assert_allclose(got, forward(case, theta)[0], rtol=RTOL, atol=0.0)
            nudged += 1
    assert flipped >= 10 and nudged >= 10


def test_one_family_in_two_parametrisations(tmp_path):
    """A strength word (Gamma by mu, sigma) beside an explicit Gamma by alpha, beta: two random vectors,
    named apart by their parameters (both once became ``effect__Gamma`` and the builder failed with
    "Duplicate and incompatible coordinate" on a file ``forecast check`` accepts)."""
    doc = random_model(SEED)
    doc["variables"] = [{"id": v, "label": v, "kind": "event", "base": 0.3} for v in ("a", "b", "c")]
    claim = {"direction": "raises", "credence": 1.0, "source": "s0", "locator": "1", "paraphrase": "p"}
    doc["claims"] = [{"id": "ab", "cause": "a", "effect": "b", "strength": "moderate", **claim},
                     {"id": "bc", "cause": "b", "effect": "c", **claim,
                      "strength": {"dist": "Gamma", "kwargs": {"alpha": 3.0, "beta": 2.0}}}]
    doc["evidence"] = [{"id": "o", "variable": "c", "date": dt.date(2024, 1, 1), "source": "s0", "value": True}]
    path = tmp_path / "clash.toml"
    path.write_text(tomli_w.dumps(doc))
    r = resolve(load_model(path), load_prior_set())
    both = {"effect__Gamma__alpha_beta", "effect__Gamma__mu_sigma"}
    assert both <= set(build(r, Numbers.of(r), draws=2, reps=1).layout.vectors)
    assert both <= set(build_marginal(r, Numbers.of(r), set(r.order)).layout.vectors)
