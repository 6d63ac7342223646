"""Priors as a few random vectors, hyperparameters as a few data vectors.

A model with :math:`N` variables and :math:`C` claims has :math:`O(N + C)`
priors. Made one by one, each is a random variable and each of its parameters
a ``pm.Data``: thousands of graph nodes, and PyTensor's rewrites and compile
time grow faster than the graph. Here every prior **family** (distribution and
parametrisation, e.g. Beta by alpha/beta) is one random vector over the
identifiers that use it, and every hyperparameter of that family one data
vector. The graph then has a few nodes per family, whatever the model's size.

:class:`Layout` remembers which identifier sits where, so that per-identifier
values (:meth:`forecast.compile.builder.Numbers.hyper_values`, parameter draws
named ``kind__ident``) go into and come out of the vectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior


@dataclass
class Layout:
    """Where per-identifier values sit in a model's vectors."""

    hyper: dict[str, list[str]] = field(default_factory=dict)  # data name -> hyper_values() keys
    vectors: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # RV name -> (kind, idents)
    # kind -> (parts, order): each part is (RV name, RV, size) or (None, constant vector, size);
    # ``order`` puts the concatenated parts back in the order of the items (None: already in order)
    families: dict[str, tuple[list[tuple[str | None, pt.TensorVariable, int]], np.ndarray | None]] = field(
        default_factory=dict)

    def set_hyper(self, model: pm.Model, values: dict[str, float]) -> None:
        """Write hyperparameter values (``Numbers.hyper_values()``) into the model's data vectors."""
        for name, keys in self.hyper.items():
            var = model[name]
            var.set_value(np.array([values[k] for k in keys], dtype=var.dtype))

    def assemble(self, kind: str, values: dict[str, pt.TensorVariable] | None = None,
                 lead: tuple[int, ...] = ()) -> pt.TensorVariable:
        """The (*lead, n) tensor of ``kind``'s priors in item order, from the model's random vectors or,
        where given, from ``values`` (RV name -> tensor (*lead, n_part)): e.g. batched posterior draws."""
        parts, order = self.families[kind]
        blocks = []
        for name, tensor, size in parts:
            x = (values or {}).get(name, tensor) if name else tensor
            if x.ndim < len(lead) + 1:
                x = pt.broadcast_to(x, (*lead, size))
            blocks.append(x)
        if not blocks:
            return pt.zeros((*lead, 0))
        joined = blocks[0] if len(blocks) == 1 else pt.concatenate(blocks, axis=-1)
        return joined if order is None else joined[..., order]

    def split(self, name: str, draws: np.ndarray) -> dict[str, np.ndarray]:
        """Draws (..., n) of the random vector ``name`` -> {``kind__ident``: (...) draws}."""
        kind, ids = self.vectors[name]
        return {f"{kind}__{ident}": np.ascontiguousarray(draws[..., j]) for j, ident in enumerate(ids)}

    def join(self, name: str, theta: dict[str, np.ndarray]) -> np.ndarray:
        """The inverse of :meth:`split`: per-identifier draws (T,) -> (T, n)."""
        kind, ids = self.vectors[name]
        return np.column_stack([theta[f"{kind}__{ident}"] for ident in ids])


def hyper_vector(layout: Layout, name: str, keys: list[str], values: list[float]) -> pt.TensorVariable:
    """One ``pm.Data`` vector ``name`` holding the hyperparameters ``keys`` (registered in ``layout``)."""
    layout.hyper[name] = list(keys)
    return pm.Data(name, np.asarray(values, dtype=float))


def vector_prior(kind: str, items: list[tuple[str, dict]], layout: Layout, batch: tuple[str, ...] = ()
                 ) -> pt.TensorVariable:
    """The priors ``items`` [(ident, Prior dict)] as one tensor (*batch, n) in the order of ``items``.

    One random vector per family, named ``kind__Dist`` with dims (*batch, ``kind__Dist__id``) (a family used
    with two sets of parameters: ``kind__Dist__alpha_beta``, ``kind__Dist__mu_sigma``); a fixed value
    (``DiracDelta``) is a constant read from its data vector.
    """
    model = pm.modelcontext(None)
    lead = tuple(len(model.coords[b]) for b in batch)
    groups: dict[tuple, list[int]] = {}
    for i, (_, prior) in enumerate(items):
        groups.setdefault((prior["dist"], tuple(sorted(prior["kwargs"]))), []).append(i)
    parts, where = [], []
    for (dist, kws), idx in groups.items():
        ids = [items[i][0] for i in idx]
        # one family in two parametrisations (a Gamma by mu and sigma beside one by alpha and beta): two
        # vectors, named apart by their parameters
        name = f"{kind}__{dist}" + ("" if sum(d == dist for d, _ in groups) == 1 else "__" + "_".join(kws))
        kwargs = {kw: hyper_vector(layout, f"hp__{name}__{kw}", [f"hp__{kind}__{d}__{kw}" for d in ids],
                                   [float(items[i][1]["kwargs"][kw]) for i in idx]) for kw in kws}
        if dist == "DiracDelta":
            parts.append((None, kwargs["c"], len(idx)))
        else:
            model.add_coord(f"{name}__id", ids)
            parts.append((name, Prior(dist, **kwargs, dims=(*batch, f"{name}__id")).create_variable(name), len(idx)))
            layout.vectors[name] = (kind, ids)
        where.extend(idx)
    order = np.argsort(np.asarray(where, dtype=int))  # position of item i among the concatenated parts
    layout.families[kind] = (parts, None if np.array_equal(order, np.arange(len(items))) else order)
    return layout.assemble(kind, lead=lead)
