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

Every hyperparameter (prior parameters, credences) is ``pm.Data`` so that a
what-if that only changes priors reuses compiled functions. Fixed values (a
``DiracDelta`` prior, a credence of exactly 0 or 1) become constants.

**Array form.** Priors are grouped by family into a few random vectors
(``base__Beta``, ``effect__Gamma``, ``gate``, ...; :mod:`forecast.compile.vectors`),
so the graph has a few nodes per family, not per claim. The states are written
as a structural causal model with exogenous noise, drawn once per *block*
(the variables of one kind at one depth of the graph, :func:`blocks_of`):

.. math::

    \text{event: } x_v = \mathbb{1}[U_v < \sigma(\eta_v)],\ U_v \sim \operatorname{Uniform}(0, 1)
    \qquad \text{index: } x_v = \sigma(\eta_v + \tau_v z_v),\ z_v \sim \operatorname{Normal}(0, 1)

which is the Bernoulli and logit-normal above drawn by inverse CDF and
reparametrisation. Each state is a named ``Deterministic`` (``v``), with
``eta__v`` (:math:`\eta_v`) and, for events, ``p__v`` (:math:`\sigma(\eta_v)`),
so ``pm.do`` can replace any state by an intervention or a posterior value.

The model is **vectorised**: parameters have dims ``("world__", id)`` and states
``("world__", "rep__")``: :math:`T` parameter draws, each with :math:`R` simulated
worlds, in one compiled call. Conditioning on evidence uses the same equations
with the binaries summed out: :mod:`forecast.compile.marginal`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast.compile.kinds import KINDS
from forecast.compile.vectors import Layout, hyper_vector, vector_prior
from forecast.spec.fit import fit_bands
from forecast.spec.limits import ancestral_set  # noqa: F401 (one definition, in the spec layer)
from forecast.spec.resolve import Resolved

# Names: every name the engine gives a PyMC variable, dimension or data holds "__", which no user id can
# (forecast.spec.schema.Id): a variable called "gate", "world" or "u" is the user's and no collision.
WORLD, REP = "world__", "rep__"  # dims of the forward model: parameter draws, simulated worlds per draw
GATE = "gate__on"  # the claims' gates (dims world__, gate__id)


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
class Block:
    """Variables of one kind at one depth of the graph: simulated together."""

    name: str
    kind: str  # "event" or "index"
    ids: list[str]


@dataclass
class Built:
    """A built model and the names an analysis needs."""

    model: pm.Model
    layout: Layout = field(default_factory=Layout)
    states: list[str] = field(default_factory=list)  # every variable, topological order
    blocks: list[Block] = field(default_factory=list)

    @property
    def params(self) -> list[str]:
        """The random parameter vectors (names of RVs), see :class:`~forecast.compile.vectors.Layout`."""
        return list(self.layout.vectors)


def blocks_of(r: Resolved) -> list[Block]:
    """Variables grouped by depth (longest claim path from a root) and kind, shallowest first."""
    depth: dict[str, int] = {}
    for v in r.order:
        depth[v] = 1 + max((depth[r.claims[c].cause] for c in r.variables[v].claims_in), default=-1)
    out = []
    for d in range(max(depth.values(), default=-1) + 1):
        for kind in ("event", "index"):
            ids = [v for v in r.order if depth[v] == d and r.variables[v].kind == kind]
            if ids:
                out.append(Block(f"d{d}_{kind}", kind, ids))
    return out


def build(r: Resolved, numbers: Numbers, *, draws: int, reps: int) -> Built:
    """Build the vectorised PyMC model of ``r`` (see the module docstring for the equations).

    ``draws`` parameter draws (dim ``world``), each with ``reps`` simulated worlds (dim ``rep``).
    """
    T, R = int(draws), int(reps)
    order = list(r.order)
    pos = {v: i for i, v in enumerate(order)}
    claims = [c for v in order for c in r.variables[v].claims_in if numbers.credence[c] > 0.0]
    column = {c: k for k, c in enumerate(claims)}  # claim -> its column in the effect and gate arrays
    gated = [c for c in claims if numbers.credence[c] < 1.0]
    index = [v for v in order if r.variables[v].kind == "index"]
    out = Built(pm.Model(coords={WORLD: np.arange(T), REP: np.arange(R)}), blocks=blocks_of(r))
    lay, world = out.layout, (WORLD,)
    with out.model:
        logit_base = pm.math.logit(vector_prior("base", [(v, numbers.base[v]) for v in order], lay, world))
        coef = vector_prior("effect", [(c, numbers.effect[c]) for c in claims], lay, world)
        coef = coef * np.array([r.claims[c].sign for c in claims], dtype=float)
        tau = vector_prior("noise", [(v, numbers.noise[v]) for v in index], lay, world)
        if gated:
            out.model.add_coord("gate__id", gated)
            kappa = hyper_vector(lay, "hp__credence", [f"hp__credence__{c}" for c in gated],
                                 [numbers.credence[c] for c in gated])
            gate = pm.Bernoulli(GATE, p=kappa, dims=(WORLD, "gate__id"))
            lay.vectors[GATE] = ("gate", gated)
            cols = [column[c] for c in gated]
            coef = pt.set_subtensor(coef[:, cols], coef[:, cols] * gate)
        states: dict[str, pt.TensorVariable] = {}
        for blk in out.blocks:  # one draw of exogenous noise per block, the equations per variable
            shape = (len(blk.ids), T, R)  # variable first: each variable's noise is one contiguous array
            kind = KINDS[blk.kind]  # the state equation (forecast.compile.kinds)
            noise = kind.exogenous(f"exo__{blk.name}", shape)
            for j, v in enumerate(blk.ids):
                eta = logit_base[:, pos[v], None]
                for c in r.variables[v].claims_in:
                    if c in column:  # credence 0: the claim is left out
                        eta = eta + coef[:, column[c], None] * states[r.claims[c].cause]
                eta = pm.Deterministic(f"eta__{v}", pt.broadcast_to(eta, (T, R)), dims=(WORLD, REP))
                x, p = kind.draw(eta, noise[j], tau[:, index.index(v), None] if v in index else None)
                if p is not None:  # an event's P(x = 1 | parents): what the worlds average
                    pm.Deterministic(f"p__{v}", p, dims=(WORLD, REP))
                states[v] = pm.Deterministic(v, x, dims=(WORLD, REP))
        out.states = order
    return out


def set_hyper(model: pm.Model, numbers: Numbers, layout: Layout) -> None:
    """Write hyperparameter values into a model's data vectors (no recompilation needed)."""
    layout.set_hyper(model, numbers.hyper_values())


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
