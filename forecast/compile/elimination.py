r"""Sum binary unknowns out of a product of factors, one variable at a time (variable elimination).

The evidence's likelihood is :math:`Z = \sum_x \prod_f \phi_f(x_{S_f})` over the joint states :math:`x` of the
latent events, each factor :math:`\phi_f` depending on a few of them (its scope :math:`S_f`: a variable and its
latent causes). Enumerating :math:`x` costs :math:`2^L`; eliminating the variables in a good order costs
:math:`L \cdot 2^{w+1}`, where the width :math:`w` (the largest set of variables one step couples) follows the
graph's tree-width, not :math:`L`. The order is chosen greedily by the min-fill rule (the variable whose
elimination adds the fewest new couplings; ties by fewest neighbours, then by position), which is
deterministic and, on sparse graphs, close to optimal.

Why written here rather than taken from a library: pgmpy's ``VariableElimination`` works on one network of
fixed numbers at a time (here every posterior draw has its own tables, and the sampler needs gradients);
``numpy.einsum`` / ``pytensor.tensor.einsum`` contract one expression but are capped at 52 index letters, do
not keep the intermediate products that exact joint sampling needs, and PyTensor's took 10 s to build the graph
of an 18-event model (and its gradient longer still). :func:`log_partition` is written once for both array
libraries (NumPy for the per-draw recovery, PyTensor for the sampler's graph) with operations both have
(transpose, ``expand_dims``, multiply, sum, ``exp``, ``log``, ``max``), on log tables with any leading batch
shape, each step rescaled by its maximum so that nothing underflows.

From the same elimination, :func:`sample` draws joint states exactly (backward sampling: the last variable
eliminated from its final message, then each earlier one from its step's product given the variables already
drawn). Marginals are the gradient of :math:`\log Z` with respect to the log tables
(:math:`\partial \log Z / \partial \log \phi_f(s) = P(x_{S_f} = s)`), which the recovery takes from PyTensor.
"""

from __future__ import annotations

import numpy as np

from forecast.spec.order import Plan, Step, plan

TINY = 1e-300  # the smallest sum a step keeps (log: -690.8): below it, a state is ruled out


def _contract(xp, tables: list, scopes: list[tuple[int, ...]], scope: tuple[int, ...], out: tuple[int, ...]):
    """sum over the variables of ``scope`` not in ``out`` of the product of ``tables`` (each (*lead, 2, ...) over
    its own scope, a subset of ``scope``): each table transposed to ``scope``'s order and broadcast over the
    rest (size-1 axes), multiplied, summed. Plain elementwise operations: cheap to build and to differentiate,
    in NumPy and PyTensor alike."""
    k = len(scope)
    prod = None
    for t, s in zip(tables, scopes):
        lead = t.ndim - len(s)
        mine = sorted(s, key=scope.index)
        t = t.transpose(*range(lead), *(lead + s.index(v) for v in mine))
        missing = tuple(lead + i for i, v in enumerate(scope) if v not in s)
        t = xp.expand_dims(t, missing) if missing else t
        prod = t if prod is None else prod * t
    gone = tuple(i - k for i, v in enumerate(scope) if v not in out)
    prod = prod.sum(axis=gone) if gone else prod
    # what is left is in ``scope``'s order without the summed variables: put it in ``out``'s
    left = [v for v in scope if v in out]
    lead = prod.ndim - len(left)
    return prod.transpose(*range(lead), *(lead + left.index(v) for v in out))


def _scaled(xp, table, k: int):
    """(exp(table - m), m): ``m`` the maximum over the last ``k`` axes (kept as size-1 axes)."""
    if k == 0:
        return xp.exp(table * 0.0), table
    m = table.max(axis=tuple(range(-k, 0)), keepdims=True)
    return xp.exp(table - m), m


def _drop(xp, m, k: int):
    """A maximum with ``k`` kept size-1 axes -> the leading shape alone."""
    for _ in range(k):
        m = m[..., 0]
    return m


def log_partition(xp, p: Plan, logs: list, keep: bool = False):
    r"""log Z = log sum_x prod_f exp(logs[f]) (leading shape of the tables), by ``p``'s order; with ``keep``,
    also every step's log product over its scope (what :func:`sample` draws from)."""
    live = dict(enumerate(logs))
    scopes = dict(enumerate(p.scopes))
    kept = []
    for i, st in enumerate(p.steps):
        parts, shift = [], 0.0
        for f in st.takes:
            e, m = _scaled(xp, live.pop(f), len(scopes[f]))
            parts.append(e)
            shift = shift + _drop(xp, m, len(scopes[f]))
        if keep:  # the step's product, in log space, over (var, *rest)
            kept.append(_log(xp, _contract(xp, parts, [scopes[f] for f in st.takes], st.scope, st.scope))
                        + _lift(shift, len(st.scope)))
        msg = _log(xp, _contract(xp, parts, [scopes[f] for f in st.takes], st.scope, st.scope[1:]))
        live[len(logs) + i] = msg + _lift(shift, len(st.scope) - 1)
        scopes[len(logs) + i] = st.scope[1:]
    total = 0.0
    for f in p.constant:
        total = total + live[f]
    return (total, kept) if keep else total


def _log(xp, x):
    """log x, floored at TINY: a state ruled out (an observation's mask) gives a finite log and no NaN gradient."""
    return xp.log(xp.maximum(x, TINY))


def _lift(x, k: int):
    """``x`` (*lead) with ``k`` size-1 axes appended (to add to a table over ``k`` variables)."""
    for _ in range(k):
        x = x[..., None]
    return x


def sample(p: Plan, kept: list[np.ndarray], reps: int, rng: np.random.Generator) -> np.ndarray:
    """Joint states (T, reps, n) drawn exactly from prod_f exp(logs[f]) / Z, per row T of the tables (NumPy;
    ``kept`` from :func:`log_partition` with ``keep=True``, leading shape (T,))."""
    T = kept[0].shape[0] if kept else 0
    x = np.zeros((T, reps, p.n))
    rows = np.arange(T)[:, None]
    for st, table in zip(reversed(p.steps), reversed(kept)):
        # the step's product given the variables it was coupled with (all drawn already): (T, reps, 2)
        at = tuple(x[:, :, u].astype(int) for u in st.scope[1:])
        logp = np.moveaxis(table, 1, -1)[(rows, *at)] if at else np.broadcast_to(table[:, None, :], (T, reps, 2))
        p1 = 1.0 / (1.0 + np.exp(logp[..., 0] - logp[..., 1]))  # P(var = 1 | drawn so far)
        x[:, :, st.var] = (rng.random((T, reps)) < p1).astype(float)
    return x


__all__ = ["Plan", "Step", "log_partition", "plan", "sample"]
