"""The exact per-draw recovery of a posterior's summed-out binaries, compiled once per sampled posterior.

From every posterior draw of the continuous parameters, the marginal model's equations
(:meth:`forecast.compile.marginal.Marginal.terms`, with a draw dimension) give, in one call over all draws:
log p(parameters, evidence), the latent events' joint posterior, each claim's P(real) and the index levels;
the same call fed other hyperparameters gives the importance weights of a prior what-if
(:meth:`forecast.analyses.posterior.Posterior.reweighted`), and with one observation switched off, the
evidence log's leave-one-out (:meth:`~forecast.analyses.posterior.Posterior.without`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode
from pytensor.graph.traversal import graph_inputs

from forecast.compile import Numbers, set_hyper
from forecast.compile.marginal import Marginal

# The recovery works on (draws x configurations x variables x gate combinations) arrays: PyTensor's
# Python linker runs each op as one NumPy call, with no C compiler and no rewrites to wait for.
RECOVERY_MODE = Mode(linker="py", optimizer=None)


@dataclass(frozen=True, kw_only=True)
class Recovery:
    """One marginal model's compiled per-draw recovery of the summed-out binaries, and the tables to read it
    (built once per sampled posterior by :func:`_recovery`; shared by everything derived from it)."""

    # (numbers, switch=None, mask=None) -> (lp (T,), P(config) (T, K), {claim: P(real) (T,)}, levels): the draws'
    # log p(parameters, evidence) and the binaries' posterior under ``numbers``; ``switch`` changes one observation
    # (Marginal.switches), ``mask`` adds log weights to the configurations (a further observation)
    recover: Callable[..., tuple] = field(repr=False)
    # (numbers) -> (T,): the prior density of the draws alone (when only that changes, no recovery is needed)
    prior_lp: Callable[[Numbers], np.ndarray] = field(repr=False)
    # the gates' joint posterior per variable (``Posterior.abduct``): ``rows(numbers, switch)`` (T, K, M) for the
    # marginal's own configurations (see Marginal.terms), ``row_var`` / ``row_on`` its rows, ``gated`` their columns
    rows: Callable[..., np.ndarray] = field(repr=False)
    row_var: list[str]
    row_on: np.ndarray = field(repr=False)
    gated: list[str]
    switches: dict[str, tuple[str, float]]  # observation id -> how to leave it out (Marginal.switches)
    hyper_keys: frozenset  # the hyperparameters (``Numbers.hyper_values`` keys) ``lp`` depends on
    # the few of them the binaries' joint depends on (the claims' credences, and fixed values: a DiracDelta's c
    # is the parameter itself); the others (the parameters of random base rates, effect sizes and noise)
    # only enter the prior density of the draws, ``prior_lp``
    joint_keys: frozenset



def _compile(mg: Marginal, draws: dict[str, np.ndarray], T: int) -> tuple[Callable, Callable, Callable, frozenset]:
    """Compiled: ``T`` draws of the free variables (``draws``: name -> (T, n)) -> (log p(params, evidence),
    config probs, gate probs, levels), all draws at once (the marginal's equations with a draw dimension);
    the same draws -> their log prior density alone (T,); -> the gates' joint per variable and configuration
    (T, K, M); and the hyperparameter keys the joint of the
    binaries reads at fixed draws (read off its graph: credences, fixed values)."""
    m = mg.model
    batched = {n: pt.tensor(n, shape=x.shape, dtype=m[n].dtype) for n, x in draws.items()}
    joint, gates, levels, rows = mg.terms(batched, (T,))
    read = {v.name for v in graph_inputs([joint, gates, levels])}
    joint_keys = frozenset(k for name, keys in mg.layout.hyper.items() if name in read for k in keys)
    mask = pt.vector("mask", shape=(len(mg.configs),))  # log weights of the configurations (0: all allowed)
    joint = joint + mask
    prior = sum((pm.logp(m[n], x).sum(axis=-1) for n, x in batched.items() if n in mg.layout.vectors),
                pt.zeros(()))
    total = pm.math.logsumexp(joint, axis=-1) + prior  # joint: (T, K)
    probs = pt.special.softmax(joint, axis=-1)
    gates = (probs[..., None] * gates).sum(axis=-2)  # (T, C)
    fn = pytensor.function([mask, *batched.values()], [total, probs, gates, levels], on_unused_input="ignore",
                           mode=RECOVERY_MODE)
    prior_fn = pytensor.function(list(batched.values()), prior * pt.ones(T), on_unused_input="ignore",
                                 mode=RECOVERY_MODE)
    rows_fn = pytensor.function(list(batched.values()), rows * pt.ones((T, 1, 1)), on_unused_input="ignore",
                                mode=RECOVERY_MODE)
    return fn, prior_fn, rows_fn, joint_keys


def build_recovery(mg: Marginal, flat: dict[str, np.ndarray], T: int) -> Recovery:
    """The compiled recovery of ``mg``'s binaries for the ``T`` draws ``flat`` (free variable name -> (T, ...)),
    its hyperparameters (and one observation, ``switch``) set in the marginal's data for each call."""
    fn, prior_fn, rows_fn, joint_keys = _compile(mg, flat, T)
    names = list(flat)

    @contextmanager
    def hyper(nums: Numbers, switch: tuple[str, float] | None = None):
        """``nums``' hyperparameters in the marginal's data; with ``switch``, one observation changed
        (Posterior.without) for the duration of the call only."""
        set_hyper(mg.model, nums, mg.layout)
        if switch is None:
            yield
            return
        data = mg.model[switch[0]]
        kept = data.get_value()
        data.set_value(np.asarray(switch[1], dtype=data.dtype))
        try:
            yield
        finally:
            data.set_value(kept)

    def rows(nums: Numbers, switch: tuple[str, float] | None = None) -> np.ndarray:
        with hyper(nums, switch):
            return np.asarray(rows_fn(*(flat[n] for n in names)), dtype=float)

    def prior_lp(nums: Numbers) -> np.ndarray:
        set_hyper(mg.model, nums, mg.layout)
        return np.asarray(prior_fn(*(flat[n] for n in names)), dtype=float)

    def recover(nums: Numbers, switch: tuple[str, float] | None = None, mask: np.ndarray | None = None) -> tuple:
        with hyper(nums, switch):
            total, probs, *rest = fn(np.zeros(len(mg.configs)) if mask is None else mask, *(flat[n] for n in names))
        probs = np.broadcast_to(np.asarray(probs), (T, len(mg.configs)))
        gates, levels = rest
        gates = np.broadcast_to(np.asarray(gates), (T, len(mg.gated)))
        gates = {c: np.array(gates[:, j]) for j, c in enumerate(mg.gated)}
        levels = np.broadcast_to(np.asarray(levels), (T, len(mg.level_ids)))
        return np.asarray(total) * np.ones(T), probs, gates, [np.array(levels[:, j]) for j in range(levels.shape[1])]

    return Recovery(recover=recover, prior_lp=prior_lp, rows=rows, row_var=mg.row_var, row_on=mg.row_on,
                    gated=list(mg.gated), switches=mg.switches,
                    hyper_keys=frozenset(k for keys in mg.layout.hyper.values() for k in keys), joint_keys=joint_keys)


__all__ = ["RECOVERY_MODE", "Recovery", "build_recovery"]
