"""Plain NumPy forward model: the baseline the compiled engine is measured against.

This is the ONLY NumPy re-implementation of the model in the project; it exists
for the benchmarks (figure (a)) and for nothing else. It implements the
equations of :mod:`forecast.compile.builder` (vectorised shape) directly:

.. math::

    \\eta_v = \\operatorname{logit}(b_v) + \\sum_{c \\in C(v)} g_c \\, s_c \\, \\beta_c \\, x_{\\mathrm{cause}(c)}

    \\text{event: } x_v \\sim \\operatorname{Bernoulli}(\\sigma(\\eta_v)), \\qquad
    \\text{index: } x_v = \\sigma(\\eta_v + \\tau_v z_v), \\ z_v \\sim \\operatorname{Normal}(0, 1)

with :math:`T` parameter draws (base rates, effect sizes, gates, noise scales)
and :math:`R` worlds per draw, and returns what
:meth:`forecast.analyses.engine.Engine.simulate` returns: per draw, the
Rao-Blackwellised P(v) (mean over worlds of :math:`\\sigma(\\eta_v)`) for an
event, the mean level for an index, and :math:`\\eta_v` (T, R) for an index.
The priors are read from the same resolved spec and :class:`~forecast.compile.Numbers`
(fitted bands) as the engine, so both simulate the same model.
"""

from __future__ import annotations

import numpy as np

from forecast.compile import Numbers
from forecast.spec.resolve import Resolved


def draw_prior(prior: dict, size: int, rng: np.random.Generator) -> np.ndarray | float:
    """``size`` draws of a Prior dict (the registry of :mod:`forecast.spec.resolve`)."""
    d, kw = prior["dist"], prior["kwargs"]
    if d == "DiracDelta":
        return float(kw["c"])
    if d == "Beta":
        if "alpha" in kw:
            a, b = kw["alpha"], kw["beta"]
        elif "nu" in kw:
            a, b = kw["mu"] * kw["nu"], (1 - kw["mu"]) * kw["nu"]
        else:
            mu, sd = kw["mu"], kw["sigma"]
            k = mu * (1 - mu) / sd**2 - 1
            a, b = mu * k, (1 - mu) * k
        return rng.beta(a, b, size)
    if d == "Gamma":
        if "alpha" in kw:
            a, rate = kw["alpha"], kw["beta"]
        else:
            a, rate = kw["mu"] ** 2 / kw["sigma"] ** 2, kw["mu"] / kw["sigma"] ** 2
        return rng.gamma(a, 1.0 / rate, size)
    if d == "HalfNormal":
        sd = kw["sigma"] if "sigma" in kw else kw["tau"] ** -0.5
        return np.abs(rng.normal(0.0, sd, size))
    if d == "Normal":
        sd = kw["sigma"] if "sigma" in kw else kw["tau"] ** -0.5
        return rng.normal(kw["mu"], sd, size)
    if d == "LogNormal":
        sd = kw["sigma"] if "sigma" in kw else kw["tau"] ** -0.5
        return rng.lognormal(kw["mu"], sd, size)
    if d == "Uniform":
        return rng.uniform(kw["lower"], kw["upper"], size)
    if d == "TruncatedNormal":
        from scipy.stats import truncnorm

        mu, sd = kw.get("mu", 0.0), kw.get("sigma", 1.0)
        lo, hi = (kw.get("lower", -np.inf) - mu) / sd, (kw.get("upper", np.inf) - mu) / sd
        return truncnorm.rvs(lo, hi, loc=mu, scale=sd, size=size, random_state=rng)
    raise NotImplementedError(f"numpy_reference: no sampler for {d}")


def sample_theta(r: Resolved, numbers: Numbers, T: int, rng: np.random.Generator) -> dict[str, np.ndarray | float]:
    """T draws of every parameter; fixed values (DiracDelta, credence 0/1) stay scalars."""
    theta: dict[str, np.ndarray | float] = {}
    for v in r.order:
        theta[f"base__{v}"] = draw_prior(numbers.base[v], T, rng)
        if r.variables[v].kind == "index":
            theta[f"noise__{v}"] = draw_prior(numbers.noise[v], T, rng)
        for cid in r.variables[v].claims_in:
            kappa = numbers.credence[cid]
            if kappa == 0.0:
                continue
            theta[f"effect__{cid}"] = draw_prior(numbers.effect[cid], T, rng)
            if kappa < 1.0:
                theta[f"gate__{cid}"] = (rng.random(T) < kappa).astype(np.float64)
    return theta


def _col(x: np.ndarray | float) -> np.ndarray | float:
    return x[:, None] if isinstance(x, np.ndarray) else x


def simulate(
    r: Resolved, numbers: Numbers, theta: dict[str, np.ndarray | float], R: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """R worlds per parameter draw; per-draw outcomes as :meth:`Engine.simulate` returns them."""
    T = next(len(x) for x in theta.values() if isinstance(x, np.ndarray))
    x: dict[str, np.ndarray] = {}
    out: dict[str, np.ndarray] = {}
    for v in r.order:
        b = theta[f"base__{v}"]
        eta = np.broadcast_to(_col(np.log(b) - np.log1p(-b)), (T, 1))
        for cid in r.variables[v].claims_in:
            c = r.claims[cid]
            if numbers.credence[cid] == 0.0:
                continue
            coef = c.sign * theta[f"effect__{cid}"]
            if f"gate__{cid}" in theta:
                coef = coef * theta[f"gate__{cid}"]
            eta = eta + _col(coef) * x[c.cause]
        eta = np.broadcast_to(eta, (T, R))
        if r.variables[v].kind == "event":
            p = 1.0 / (1.0 + np.exp(-eta))
            x[v] = (rng.random((T, R)) < p).astype(np.float64)
            out[v] = p.mean(axis=1)
        else:
            level = 1.0 / (1.0 + np.exp(-(eta + _col(theta[f"noise__{v}"]) * rng.standard_normal((T, R)))))
            x[v] = level
            out[v] = level.mean(axis=1)
            out[f"eta__{v}"] = np.ascontiguousarray(eta)
    return out


def forward(r: Resolved, numbers: Numbers, T: int, R: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Parameter draws then worlds: the NumPy counterpart of ``sample_theta`` + ``simulate`` of the engine."""
    rng = np.random.default_rng(seed)
    return simulate(r, numbers, sample_theta(r, numbers, T, rng), R, rng)
