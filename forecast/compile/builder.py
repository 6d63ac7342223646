r"""Spec → PyMC: build the causal model whose priors carry the claims.

For every variable :math:`v` (in topological order) with incoming claims
:math:`C(v)`:

.. math::

    \eta_v = \operatorname{logit}(b_v) + \sum_{c \in C(v)} g_c \, s_c \, \beta_c \, x_{\mathrm{cause}(c)}

    b_v \sim \text{base prior (Beta)}, \quad
    g_c \sim \operatorname{Bernoulli}(\kappa_c), \quad
    \beta_c \sim \text{strength prior}, \quad s_c = \pm 1

    \text{event: } x_v \sim \operatorname{Bernoulli}(\sigma(\eta_v)), \qquad
    \text{index: } x_v \sim \operatorname{LogitNormal}(\eta_v, \tau_v), \ \tau_v \sim \text{noise prior}

:math:`\kappa_c` is the claim's credence (the prior probability that its
mechanism is real). Evidence adds likelihood terms:

* an observed event or index: :math:`x_v` observed (``pm.observe``);
* an index measurement: :math:`m \sim \operatorname{Normal}(x_v, \mathrm{sd})`, :math:`m` observed;
* a soft report on an event, with accuracy :math:`q` from its grade:
  :math:`r \sim \operatorname{Bernoulli}(q x_v + (1-q)(1-x_v))`, :math:`r` observed.

Every hyperparameter (prior parameters, credences) is a ``pm.Data`` so that a
what-if that only changes priors reuses compiled functions. Fixed values (a
``DiracDelta`` prior, a credence of exactly 0 or 1) become constants.

Two shapes of the same model are built:

* **vectorised** (``draws=T, reps=R``): parameters have dims ``("world",)`` and
  states ``("world", "rep")``: :math:`T` parameter draws, each with :math:`R`
  simulated worlds, in one compiled call; Deterministics ``p__v``
  (:math:`\sigma(\eta_v)`, events) and ``eta__v`` (indices) are added;
* **single system** (``draws=None``): scalars, restricted to a set of nodes,
  with measurement/report variables for the evidence; used with
  ``pm.observe`` and a sampler. An index is written non-centred there,
  :math:`x_v = \sigma(\eta_v + \tau_v z_v)`, :math:`z_v \sim \operatorname{Normal}(0, 1)`,
  the same distribution without the funnel that would slow NUTS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior

from forecast.spec.fit import fit_bands
from forecast.spec.resolve import Resolved


PARAM_KINDS = ("base__", "effect__", "gate__", "noise__")


def state_name(v: str) -> str:
    return v


def param_names(kind: str, ident: str) -> str:
    return f"{kind}__{ident}"


@dataclass(frozen=True)
class Numbers:
    """Every prior of a resolved model with bands fitted: Prior dicts and credences."""

    base: dict[str, dict]
    noise: dict[str, dict]
    effect: dict[str, dict]
    credence: dict[str, float]

    @classmethod
    def of(cls, r: Resolved) -> Numbers:
        vids = list(r.variables)
        bases = fit_bands([r.variables[v].base for v in vids])
        return cls(
            base=dict(zip(vids, bases)),
            noise={v: r.variables[v].noise for v in vids if r.variables[v].noise},
            effect={c: r.claims[c].effect_prior for c in r.claims},
            credence={c: r.claims[c].credence for c in r.claims},
        )

    def structure(self) -> tuple:
        """What a compiled function depends on besides hyperparameter values."""
        fixed = lambda d: tuple(sorted((k, p["dist"], tuple(sorted(p["kwargs"]))) for k, p in d.items()))  # noqa: E731
        gates = tuple(sorted((c, k if k in (0.0, 1.0) else None) for c, k in self.credence.items()))
        return fixed(self.base), fixed(self.noise), fixed(self.effect), gates

    def hyper_values(self) -> dict[str, float]:
        out = {}
        for group, table in (("base", self.base), ("noise", self.noise), ("effect", self.effect)):
            for ident, prior in table.items():
                for kw, value in prior["kwargs"].items():
                    out[f"hp__{group}__{ident}__{kw}"] = float(value)
        out.update({f"hp__credence__{c}": float(k) for c, k in self.credence.items()})
        return out


@dataclass
class Built:
    """A built model and the names an analysis needs."""

    model: pm.Model
    params: list[str] = field(default_factory=list)  # random parameters (names of RVs)
    states: list[str] = field(default_factory=list)
    evidence: dict[str, float] = field(default_factory=dict)  # observed name -> value


def _prior_variable(name: str, group: str, ident: str, prior: dict, dims) -> pt.TensorVariable:
    kwargs = {
        kw: pm.Data(f"hp__{group}__{ident}__{kw}", float(v)) for kw, v in prior["kwargs"].items()
    }
    if prior["dist"] == "DiracDelta":
        return kwargs["c"]  # a fixed value is a constant, not a random variable
    return Prior(prior["dist"], **kwargs, dims=dims).create_variable(name)


def build(
    r: Resolved,
    numbers: Numbers,
    *,
    draws: int | None = None,
    reps: int | None = None,
    nodes: Iterable[str] | None = None,
    centred: bool = False,
) -> Built:
    """Build the PyMC model of ``r`` (see the module docstring for the equations).

    Parameters
    ----------
    r, numbers
        The resolved spec and its fitted priors.
    draws, reps
        Vectorised shape (parameter draws, worlds per draw); ``None`` for a single system.
    nodes
        Single system only: the variables to include (an ancestral set); evidence
        on them is added as measurement and report variables.
    centred
        Single system only: write indices as ``LogitNormal`` states (for exact
        enumeration given the levels) instead of non-centred (for the sampler).
    """
    vec = draws is not None
    keep = set(r.order if nodes is None else nodes)
    coords = {"world": np.arange(draws), "rep": np.arange(reps)} if vec else {}
    pdims, sdims = (("world",), ("world", "rep")) if vec else (None, None)
    lift = (lambda x: x[:, None]) if vec else (lambda x: x)
    out = Built(pm.Model(coords=coords))
    with out.model:
        values: dict[str, pt.TensorVariable] = {}
        for v in (v for v in r.order if v in keep):
            var = r.variables[v]
            base = _prior_variable(param_names("base", v), "base", v, numbers.base[v], pdims)
            eta = lift(pm.math.logit(base)) if base.ndim or not vec else pm.math.logit(base)
            for cid in var.claims_in:
                c = r.claims[cid]
                if c.cause not in values:
                    continue
                beta = _prior_variable(param_names("effect", cid), "effect", cid, numbers.effect[cid], pdims)
                kappa = numbers.credence[cid]
                if kappa == 0.0:
                    continue
                term = c.sign * (beta if not vec or beta.ndim == 0 else lift(beta))
                if kappa < 1.0:
                    gate = pm.Bernoulli(
                        param_names("gate", cid), p=pm.Data(f"hp__credence__{cid}", kappa), dims=pdims
                    )
                    term = term * (lift(gate) if vec else gate)
                eta = eta + term * values[c.cause]
            if var.kind == "event":
                x = pm.Bernoulli(state_name(v), logit_p=eta, dims=sdims)
                if vec:
                    pm.Deterministic(f"p__{v}", pm.math.sigmoid(eta) + pt.zeros((draws, reps)), dims=sdims)
            else:
                tau = _prior_variable(param_names("noise", v), "noise", v, numbers.noise[v], pdims)
                if vec or centred:
                    x = pm.LogitNormal(state_name(v), mu=eta, sigma=lift(tau) if vec and tau.ndim else tau, dims=sdims)
                if vec:
                    pm.Deterministic(f"eta__{v}", eta + pt.zeros((draws, reps)), dims=sdims)
                elif not centred:  # non-centred for the sampler: no funnel between tau and the level
                    z = pm.Normal(f"z__{v}", 0.0, 1.0)
                    x = pm.Deterministic(state_name(v), pm.math.sigmoid(eta + tau * z))
            values[v] = x
            out.states.append(v)
        if not vec:
            for ob in r.evidence:
                if ob.variable not in keep:
                    continue
                x = values[ob.variable]
                if ob.kind == "index":
                    pm.Normal(f"meas__{ob.id}", mu=x, sigma=ob.sd)
                    out.evidence[f"meas__{ob.id}"] = ob.value
                elif ob.kind == "soft":
                    q = ob.accuracy
                    pm.Bernoulli(f"report__{ob.id}", p=q * x + (1 - q) * (1 - x))
                    out.evidence[f"report__{ob.id}"] = ob.value
                else:
                    out.evidence[ob.variable] = ob.value
    out.params = [rv.name for rv in out.model.free_RVs if rv.name.startswith(PARAM_KINDS)]
    return out


def set_hyper(model: pm.Model, numbers: Numbers) -> None:
    """Write hyperparameter values into a model's ``pm.Data`` (no recompilation needed)."""
    values = numbers.hyper_values()
    for name, var in model.named_vars.items():
        if name.startswith("hp__") and name in values:
            var.set_value(np.asarray(values[name], dtype=var.dtype))


def ancestral_set(r: Resolved, targets: Iterable[str]) -> set[str]:
    """The targets and every variable with a claim path into them."""
    parents: dict[str, set[str]] = {v: set() for v in r.order}
    for c in r.claims.values():
        parents[c.effect].add(c.cause)
    seen, stack = set(), list(targets)
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(parents[v])
    return seen


def descendants(r: Resolved, sources: Iterable[str]) -> set[str]:
    children: dict[str, set[str]] = {v: set() for v in r.order}
    for c in r.claims.values():
        children[c.cause].add(c.effect)
    seen, stack = set(), list(sources)
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(children[v])
    return seen
