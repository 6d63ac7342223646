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
from pytensor.graph.traversal import graph_inputs, io_toposort
from pytensor.scalar.basic import Second
from pytensor.tensor.elemwise import Elemwise

from forecast.compile import Numbers, set_hyper
from forecast.compile.convolution import Chain, gates_of, sample_terms
from forecast.compile.elimination import log_partition, sample
from forecast.compile.marginal import HUGE_NEG, Marginal, table
from forecast.spec.order import Plan

# The recovery works on (draws x configurations x variables x gate combinations) arrays: PyTensor's
# Python linker runs each op as one NumPy call, with no C compiler and no rewrites to wait for.
RECOVERY_MODE = Mode(linker="py", optimizer=None)


def without_fill(outputs: list) -> list:
    """``outputs`` with every ``second(x, y)`` (``fill``: ``y`` broadcast to ``x``'s shape, which ``pt.grad`` puts
    in its graphs) as ``where(isnan(x), y, y)``, the same array by ops with a ufunc: ``Second`` has none, so the
    Python linker would run it one element at a time (seconds per call on (draws x configurations x variables)
    arrays). The graph rewrite PyTensor has for it (``local_fill_to_alloc``) needs a rewriting pass that takes
    longer than the whole compile."""
    memo: dict = {}
    for node in io_toposort(list(graph_inputs(outputs)), outputs):
        ins = [memo.get(i, i) for i in node.inputs]
        if isinstance(node.op, Elemwise) and isinstance(node.op.scalar_op, Second):
            x, y = ins
            out = node.outputs[0]
            # where(isnan(x), y, y): y broadcast against x, by ops with a ufunc (``broadcast_to`` would infer its
            # static shape over the whole graph, for seconds per node)
            memo[out] = out.type.filter_variable(pt.switch(pt.isnan(x), y, y), allow_convert=True)
        elif any(a is not b for a, b in zip(ins, node.inputs, strict=True)):
            new = node.clone_with_new_inputs(ins, strict=False)
            memo.update(zip(node.outputs, new.outputs, strict=True))
    return [memo.get(o, o) for o in outputs]


def sample_configs(probs: np.ndarray, reps: int, seed: int) -> np.ndarray:
    """Indices (T, reps) of configurations drawn from each row of ``probs``."""
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(probs, axis=1)
    u = rng.random((probs.shape[0], reps))
    idx = (u[:, :, None] > cdf[:, None, :]).sum(axis=2)
    return np.minimum(idx, probs.shape[1] - 1)


@dataclass(frozen=True, kw_only=True)
class Enumerated:
    """The latent events' joint posterior per draw, as probabilities of their every joint configuration."""

    latent: list[str]
    configs: np.ndarray  # (K, L)
    probs: np.ndarray  # (T, K): P(configuration | parameters, evidence)
    bound: float = 0.0  # the most any probability can be off the exact model's (gates summed on a grid; 0: exact)

    def prob(self, v: str) -> np.ndarray:
        """P(v | parameters, evidence), per draw (T,)."""
        return self.probs @ self.configs[:, self.latent.index(v)]

    def sample(self, reps: int, seed: int) -> dict[str, np.ndarray]:
        """States (T, reps) of the latent events, drawn jointly."""
        idx = sample_configs(self.probs, reps, seed)
        return {v: self.configs[idx, i].astype(float) for i, v in enumerate(self.latent)}

    def unary(self, unary: np.ndarray) -> np.ndarray:
        """Per-event log weights of their states (L, 2) -> log weights of the configurations (K,)."""
        if not self.latent:
            return np.zeros(len(self.configs))
        return unary[np.arange(len(self.latent)), self.configs.astype(int)].sum(axis=-1)


@dataclass(frozen=True, kw_only=True)
class Factored:
    """The latent events' joint posterior per draw, as the factors it is the normalised product of (the
    eliminated path: :mod:`forecast.compile.elimination`), with each event's marginal."""

    latent: list[str]
    marginals: np.ndarray  # (T, L): P(event | parameters, evidence)
    node: np.ndarray = field(repr=False)  # (T, Kx, N): each variable's log factor at its local configurations
    scopes: list[tuple[int, ...]]  # per column of ``node``: the latent events of its factor
    plan: Plan  # the order with the latent events' unary factors appended (``unary``)
    unary: np.ndarray  # (L, 2): log weights of each event's states (a further observation)
    bound: float = 0.0  # as Enumerated.bound

    def prob(self, v: str) -> np.ndarray:
        return self.marginals[:, self.latent.index(v)]

    def draw(self, reps: int, rng: np.random.Generator, node: np.ndarray | None = None) -> np.ndarray:
        """Joint states (T, reps, L), exactly, by backward sampling (``node``: other factors, e.g. gates drawn)."""
        node = self.node if node is None else node
        T = len(node)
        tabs = [table(node[..., j], len(s)) for j, s in enumerate(self.scopes)]
        tabs += [np.broadcast_to(self.unary[i], (T, 2)) for i in range(len(self.latent))]
        _, kept = log_partition(np, self.plan, tabs, keep=True)
        return sample(self.plan, kept, reps, rng)

    def sample(self, reps: int, seed: int) -> dict[str, np.ndarray]:
        x = self.draw(reps, np.random.default_rng(seed))
        return {v: x[:, :, i] for i, v in enumerate(self.latent)}


@dataclass(frozen=True, kw_only=True)
class Recovery:
    """One marginal model's compiled per-draw recovery of the summed-out binaries, and the tables to read it
    (built once per sampled posterior by :func:`_recovery`; shared by everything derived from it)."""

    # (numbers, switch=None, unary=None) -> (lp (T,), joint (Enumerated | Factored), {claim: P(real) (T,)}, levels):
    # the draws' log p(parameters, evidence) and the binaries' posterior under ``numbers``; ``switch`` changes one
    # observation (Marginal.switches), ``unary`` (L, 2) adds log weights to the latent events' states (a further
    # observation)
    recover: Callable[..., tuple] = field(repr=False)
    # (numbers) -> (T,): the prior density of the draws alone (when only that changes, no recovery is needed)
    prior_lp: Callable[[Numbers], np.ndarray] = field(repr=False)
    # the gates' joint posterior per variable (``Posterior.abduct``): ``rows(numbers, switch)`` (T, Kx, M) for the
    # marginal's local configurations (see Marginal.local), ``row_var`` / ``row_on`` its rows, ``gated`` their
    # columns
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
    marginal: Marginal = field(repr=False)  # the equations (its ``columns``, ``scopes``, ``node_state``)
    # (numbers, switch=None) -> {gridded column: (its gates' columns in ``gated``, Chain with lead (T, Kx))}: the
    # gated sums of the variables whose gates are summed on a grid (Posterior.abduct draws their gates from them)
    chains: Callable[..., dict] | None = field(default=None, repr=False)
    draws: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # the free variables' draws (T, ...)


    def gate_variables(self, claims: list[str]) -> list[str]:
        """The variables whose gates include some of ``claims`` (by their rows, or gridded)."""
        cols = [self.gated.index(c) for c in claims]
        mg = self.marginal
        out = {self.row_var[m] for m in range(len(self.row_var)) if np.any(self.row_on[m, cols] > 0)}
        out |= {mg.columns[j] for j, ids in mg.gridded.items() if set(ids) & set(claims)}
        return sorted(out)

    def grid_chains(self, numbers: Numbers, doubled: tuple | None = None) -> dict:
        """The gridded variables' chains (``chains``), configurations doubled as the rows are (``without``)."""
        if self.chains is None:
            return {}
        out = self.chains(numbers)
        if doubled is None:
            return out
        two = self.chains(numbers, doubled)
        return {j: (cols, ch.join(two[j][1], axis=1)) for j, (cols, ch) in out.items()}

    def draw_grid_gates(self, chains: dict, v: str, k: np.ndarray, pick: np.ndarray, gates: dict,
                        rng: np.random.Generator) -> None:
        """For a gridded ``v``: its gates (those in ``gates``) drawn jointly given the grid point ``pick`` (T,)
        (a row of v) at its local configuration ``k`` (T,), by backward sampling along its chain."""
        j = self.marginal.columns.index(v)
        if j not in chains:
            return
        cols, ch = chains[j]
        t = np.arange(len(k))
        at = ch.apply(lambda x: x[t, k])
        on = gates_of(sample_terms(at, self.marginal.row_grid[pick], rng), at.up)  # (T, J)
        for i, col in enumerate(cols):
            if self.gated[col] in gates:
                gates[self.gated[col]] = on[:, i]


def stated_bound(rho: np.ndarray) -> float:
    """The most a probability can be off the exact model's, from ``rho`` (T,): per draw, the posterior
    expectation of the relative error of the evidence's likelihood over the latent configurations
    (:class:`forecast.compile.marginal.Local`, ``slack``). A probability P(A) = sum_A L_k / sum L_k whose terms
    are each off by at most a relative e_k moves by at most rho / (1 - rho), rho = E[e_k]; over the parameters
    the same holds with the largest rho of the draws."""
    worst = float(np.max(rho)) if np.size(rho) else 0.0
    return 0.0 if worst <= 0.0 else (worst / (1.0 - worst) if worst < 1.0 else float("inf"))


def _chains_fn(mg: Marginal, loc, batched: dict) -> Callable | None:
    """Compiled: draws -> the gridded variables' chains (flat list of arrays), or None when none is gridded."""
    if not mg.gridded:
        return None
    outs = []
    for _, ch in loc.chains.values():  # every array at its full shape: (T, Kx) and (T, Kx, J)
        full = (ch.frac + ch.on + ch.up + ch.low[..., None] + ch.step[..., None]).shape
        outs += [pt.broadcast_to(getattr(ch, a), full if a in Chain.PER_TERM else full[:-1]) for a in Chain.ARRAYS]
    fn = pytensor.function(list(batched.values()), outs, on_unused_input="ignore", mode=RECOVERY_MODE)

    def call(*args) -> dict:
        got = iter(fn(*args))
        return {j: (cols, ch.apply(lambda _: np.asarray(next(got)))) for j, (cols, ch) in loc.chains.items()}
    return call


def _compile(mg: Marginal, draws: dict[str, np.ndarray], T: int) -> tuple[Callable, Callable, Callable, frozenset]:
    """Compiled: ``T`` draws of the free variables (``draws``: name -> (T, n)) -> (log p(params, evidence),
    config probs, gate probs, levels), all draws at once (the marginal's equations with a draw dimension);
    the same draws -> their log prior density alone (T,); -> the gates' joint per variable and configuration
    (T, K, M); and the hyperparameter keys the joint of the
    binaries reads at fixed draws (read off its graph: credences, fixed values)."""
    m = mg.model
    batched = {n: pt.tensor(n, shape=x.shape, dtype=m[n].dtype) for n, x in draws.items()}
    loc = mg.local(batched, (T,))
    joint, gates, levels, rows = mg._joint(loc), mg.gates(loc), loc.levels, loc.rows
    read = {v.name for v in graph_inputs([joint, gates, levels])}
    joint_keys = frozenset(k for name, keys in mg.layout.hyper.items() if name in read for k in keys)
    mask = pt.vector("mask", shape=(len(mg.configs),))  # log weights of the configurations (0: all allowed)
    joint = joint + mask
    prior = sum((pm.logp(m[n], x).sum(axis=-1) for n, x in batched.items() if n in mg.layout.vectors),
                pt.zeros(()))
    total = pm.math.logsumexp(joint, axis=-1) + prior  # joint: (T, K)
    probs = pt.special.softmax(joint, axis=-1)
    gates = (probs[..., None] * gates).sum(axis=-2)  # (T, C)
    # per draw: E[relative error of the likelihood] over the configurations (0 when every sum is exact)
    rho = ((probs * pt.expm1(loc.slack.sum(axis=-1))).sum(axis=-1) if loc.slack is not None else pt.zeros(()))
    fn = pytensor.function([mask, *batched.values()], [total, probs, gates, levels, rho * pt.ones(T)],
                           on_unused_input="ignore", mode=RECOVERY_MODE)
    prior_fn = pytensor.function(list(batched.values()), prior * pt.ones(T), on_unused_input="ignore",
                                 mode=RECOVERY_MODE)
    rows_fn = pytensor.function(list(batched.values()), rows * pt.ones((T, 1, 1)), on_unused_input="ignore",
                                mode=RECOVERY_MODE)
    return fn, prior_fn, rows_fn, joint_keys, _chains_fn(mg, loc, batched)


def _compile_factored(mg: Marginal, draws: dict[str, np.ndarray], T: int) -> tuple[Callable, Callable, Callable,
                                                                                   frozenset]:
    """:func:`_compile` for the eliminated path: (unary, *draws) -> (log p(params, evidence), each latent event's
    P(on) (T, L), each gate's (T, C), levels, the log factors (T, Kx, N)). The marginals are the gradient of the
    log partition function with respect to the log factors: d log Z / d log phi_f(s) = P(scope of f = s)."""
    m = mg.model
    batched = {n: pt.tensor(n, shape=x.shape, dtype=m[n].dtype) for n, x in draws.items()}
    loc = mg.local(batched, (T,))
    node = loc.node
    for j, term in loc.soft:
        node = pt.inc_subtensor(node[..., j], term)
    read = {v.name for v in graph_inputs([node, loc.levels])}
    joint_keys = frozenset(k for name, keys in mg.layout.hyper.items() if name in read for k in keys)
    L = len(mg.latent)
    unary = pt.matrix("unary", shape=(L, 2))
    tabs = [table(node[..., j], len(s)) for j, s in enumerate(mg.scopes)]
    tabs += [pt.broadcast_to(unary[i], (T, 2)) for i in range(L)]
    logz = log_partition(pt, mg.plan_for(True), tabs)
    prior = sum((pm.logp(m[n], x).sum(axis=-1) for n, x in batched.items() if n in mg.layout.vectors),
                pt.zeros(()))
    total = logz + loc.jac + prior
    marg = pt.grad(logz.sum(), node)  # (T, Kx, N): P(local configuration of each column's factor)
    at = [mg.columns.index(v) for v in mg.latent]
    events = (marg * mg.node_state).sum(axis=1)[:, at] if L else pt.zeros((T, 0))
    # P(gate on) = sum over its effect's local configurations of P(configuration) P(gate on | configuration)
    gates = (marg[..., mg.gate_col] * mg.gates(loc)).sum(axis=1) if mg.gated else pt.zeros((T, 0))
    if loc.slack is not None:  # E[relative error] over the configurations: the partition with the slack in
        tabs_s = [table(node[..., j] + loc.slack[..., j], len(s)) for j, s in enumerate(mg.scopes)]
        tabs_s += [pt.broadcast_to(unary[i], (T, 2)) for i in range(L)]
        rho = pt.expm1(log_partition(pt, mg.plan_for(True), tabs_s) - logz)
    else:
        rho = pt.zeros(())
    fn = pytensor.function([unary, *batched.values()], without_fill([total * pt.ones(T), events, gates, loc.levels,
                                                                   node, rho * pt.ones(T)]),
                           on_unused_input="ignore", mode=RECOVERY_MODE)
    prior_fn = pytensor.function(list(batched.values()), prior * pt.ones(T), on_unused_input="ignore",
                                 mode=RECOVERY_MODE)
    rows_fn = pytensor.function(list(batched.values()), loc.rows * pt.ones((T, 1, 1)), on_unused_input="ignore",
                                mode=RECOVERY_MODE)
    return fn, prior_fn, rows_fn, joint_keys, _chains_fn(mg, loc, batched)


def build_recovery(mg: Marginal, flat: dict[str, np.ndarray], T: int) -> Recovery:
    """The compiled recovery of ``mg``'s binaries for the ``T`` draws ``flat`` (free variable name -> (T, ...)),
    its hyperparameters (and one observation, ``switch``) set in the marginal's data for each call."""
    fn, prior_fn, rows_fn, joint_keys, chains_fn = (_compile_factored if mg.eliminated else _compile)(mg, flat, T)
    L = len(mg.latent)
    plan_u = mg.plan_for(True) if mg.eliminated else None
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

    def chains(nums: Numbers, switch: tuple[str, float] | None = None) -> dict:
        with hyper(nums, switch):
            return chains_fn(*(flat[n] for n in names))

    def prior_lp(nums: Numbers) -> np.ndarray:
        set_hyper(mg.model, nums, mg.layout)
        return np.asarray(prior_fn(*(flat[n] for n in names)), dtype=float)

    def recover(nums: Numbers, switch: tuple[str, float] | None = None, unary: np.ndarray | None = None) -> tuple:
        unary = np.zeros((L, 2)) if unary is None else np.asarray(unary, dtype=float)
        if mg.eliminated:
            with hyper(nums, switch):
                total, events, gates, levels, node, rho = fn(np.maximum(unary, HUGE_NEG), *(flat[n] for n in names))
            joint = Factored(latent=list(mg.latent), marginals=np.broadcast_to(np.asarray(events), (T, L)).copy(),
                             node=np.asarray(node, dtype=float), scopes=mg.scopes, plan=plan_u, unary=unary,
                             bound=stated_bound(np.asarray(rho)))
        else:
            mask = Enumerated(latent=mg.latent, configs=mg.configs, probs=np.zeros((0, 0))).unary(unary)
            with hyper(nums, switch):
                total, probs, gates, levels, rho = fn(mask, *(flat[n] for n in names))
            joint = Enumerated(latent=list(mg.latent), configs=mg.configs,
                               probs=np.broadcast_to(np.asarray(probs), (T, len(mg.configs))),
                               bound=stated_bound(np.asarray(rho)))
        gates = np.broadcast_to(np.asarray(gates), (T, len(mg.gated)))
        gates = {c: np.array(gates[:, j]) for j, c in enumerate(mg.gated)}
        levels = np.broadcast_to(np.asarray(levels), (T, len(mg.level_ids)))
        return np.asarray(total) * np.ones(T), joint, gates, [np.array(levels[:, j]) for j in range(levels.shape[1])]

    return Recovery(recover=recover, prior_lp=prior_lp, rows=rows, row_var=mg.row_var, row_on=mg.row_on,
                    gated=list(mg.gated), switches=mg.switches, marginal=mg, chains=chains if chains_fn else None,
                    draws=dict(flat),
                    hyper_keys=frozenset(k for keys in mg.layout.hyper.values() for k in keys), joint_keys=joint_keys)


__all__ = ["RECOVERY_MODE", "Enumerated", "Factored", "Recovery", "build_recovery", "sample_configs", "stated_bound"]
