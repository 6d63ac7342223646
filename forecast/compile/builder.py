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

The model is **vectorised**: parameters have dims ``("world",)`` and states
``("world", "rep")``: :math:`T` parameter draws, each with :math:`R` simulated
worlds, in one compiled call; Deterministics ``p__v`` (:math:`\sigma(\eta_v)`,
events) and ``eta__v`` (indices) are added. Conditioning on evidence uses the
same equations with the binaries summed out: :mod:`forecast.compile.marginal`.
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


def _prior_variable(name: str, group: str, ident: str, prior: dict, dims) -> pt.TensorVariable:
    kwargs = {
        kw: pm.Data(f"hp__{group}__{ident}__{kw}", float(v)) for kw, v in prior["kwargs"].items()
    }
    if prior["dist"] == "DiracDelta":
        return kwargs["c"]  # a fixed value is a constant, not a random variable
    return Prior(prior["dist"], **kwargs, dims=dims).create_variable(name)


def build(r: Resolved, numbers: Numbers, *, draws: int, reps: int) -> Built:
    """Build the vectorised PyMC model of ``r`` (see the module docstring for the equations).

    ``draws`` parameter draws (dim ``world``), each with ``reps`` simulated worlds (dim ``rep``).
    """
    coords = {"world": np.arange(draws), "rep": np.arange(reps)}
    pdims, sdims = ("world",), ("world", "rep")
    out = Built(pm.Model(coords=coords))
    with out.model:
        values: dict[str, pt.TensorVariable] = {}
        for v in r.order:
            var = r.variables[v]
            base = _prior_variable(param_names("base", v), "base", v, numbers.base[v], pdims)
            eta = _col(pm.math.logit(base))
            for cid in var.claims_in:
                c = r.claims[cid]
                kappa = numbers.credence[cid]
                if kappa == 0.0:
                    continue
                beta = _prior_variable(param_names("effect", cid), "effect", cid, numbers.effect[cid], pdims)
                term = c.sign * _col(beta)
                if kappa < 1.0:
                    gate = pm.Bernoulli(
                        param_names("gate", cid), p=pm.Data(f"hp__credence__{cid}", kappa), dims=pdims
                    )
                    term = term * _col(gate)
                eta = eta + term * values[c.cause]
            if var.kind == "event":
                x = pm.Bernoulli(state_name(v), logit_p=eta, dims=sdims)
                pm.Deterministic(f"p__{v}", pm.math.sigmoid(eta) + pt.zeros((draws, reps)), dims=sdims)
            else:
                tau = _prior_variable(param_names("noise", v), "noise", v, numbers.noise[v], pdims)
                x = pm.LogitNormal(state_name(v), mu=eta, sigma=_col(tau), dims=sdims)
                pm.Deterministic(f"eta__{v}", eta + pt.zeros((draws, reps)), dims=sdims)
            values[v] = x
            out.states.append(v)
    out.params = [rv.name for rv in out.model.free_RVs if rv.name.startswith(PARAM_KINDS)]
    return out


def _col(x: pt.TensorVariable) -> pt.TensorVariable:
    """A per-draw parameter (T,) as a column (T, 1) against the worlds; a constant stays as it is."""
    return x[:, None] if x.ndim else x


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
