"""The simulation engine: draws of the claims' parameters, then worlds given those draws.

One vectorised PyMC model (parameters over ``world``, states over ``world x rep``)
is built once. Two kinds of compiled function are cached and reused:

* the **parameter sampler** draws every prior (gates, effect sizes, base rates,
  noise) at once; its hyperparameters live in ``pm.Data``, so a what-if that
  changes only prior values reuses it;
* the **world simulator** is ``pm.do`` of the model with every parameter
  replaced by a shared array (and observed or intervened states fixed); it is
  compiled once per set of fixed states and fed new parameter draws each time.

Outcomes are Rao-Blackwellised: for an event, P(v | parameters) is the mean over
the ``rep`` worlds of sigmoid(eta_v), not a 0/1 average.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode
from pytensor.tensor.random.type import RandomGeneratorType

from forecast.compile import Numbers, ancestral_set, build, set_hyper
from forecast.compile.kinds import Index, report_prob
from forecast.spec.resolve import Resolved

log = logging.getLogger(__name__)

# Every operation of the engine works on whole (draws x worlds) arrays, so PyTensor's Python
# linker (each op is one NumPy call) runs about as fast as generated C code would, and needs no
# C compiler and no graph rewrites: compiling a model of any size takes a fraction of a second.
# The graph is written with ops that have a NumPy ufunc (``where``, not ``cast``), because the
# Python linker runs an op without one element by element.
MODE = Mode(linker="py", optimizer=None)


def _reseed(fn, seed: int) -> None:
    rngs = [v for v in fn.get_shared() if isinstance(v.type, RandomGeneratorType)]
    pm.pytensorf.reseed_rngs(rngs, seed)


@dataclass
class _WorldFn:
    fn: object
    theta: dict[str, object]  # parameter vector name -> shared (T, n)
    fixed: dict[str, object]  # state name -> shared (T, R)
    outputs: list[tuple[str, str]]  # (variable, what) of each output; ("__logw__", "") and ("__omega__", "")


class Engine:
    """Compiled simulation of one model structure; see the module docstring.

    Parameters
    ----------
    resolved
        The resolved spec (its priors give the default hyperparameters).
    draws
        Parameter draws T (each draw is one reading of how true the claims are).
    """

    def __init__(self, resolved: Resolved, draws: int):
        self.r = resolved
        self.numbers = Numbers.of(resolved)
        self.T = int(draws)
        self.R = resolved.priors.simulation.replicates
        self.forward = build(resolved, self.numbers, draws=self.T, reps=self.R)
        self._theta_fn = None
        self._world_fns: dict[tuple, _WorldFn] = {}
        self.compiles = 0

    def accepts(self, numbers: Numbers) -> bool:
        """Whether ``numbers`` only change hyperparameter values (no rebuild needed)."""
        return numbers.structure() == self.numbers.structure()

    def sample_theta(self, numbers: Numbers, seed: int) -> dict[str, np.ndarray]:
        """T draws of every random parameter under ``numbers``' hyperparameters, as ``kind__ident``: (T,)."""
        if not self.accepts(numbers):
            raise ValueError("prior families changed: build a new Engine")
        lay = self.forward.layout
        set_hyper(self.forward.model, numbers, lay)
        if self._theta_fn is None:
            outs = [self.forward.model[p] for p in self.forward.params]
            self._theta_fn = pm.pytensorf.compile([], outs, random_seed=seed, mode=MODE)
            self.compiles += 1
        _reseed(self._theta_fn, seed)
        theta = {}
        for p, v in zip(self.forward.params, self._theta_fn()):
            theta.update(lay.split(p, np.asarray(v)))
        return theta

    def _world_fn(self, fixed: tuple[str, ...], do: tuple[tuple[str, float], ...],
                  likelihood: tuple[tuple, ...] = (), per_world: bool = False) -> _WorldFn:
        key = (fixed, do, likelihood, per_world)
        if key in self._world_fns:
            return self._world_fns[key]
        m = self.forward.model
        width = {p: len(ids) for p, (_, ids) in self.forward.layout.vectors.items()}
        theta = {p: pytensor.shared(np.zeros((self.T, width[p]), dtype=m[p].dtype), name=f"theta__{p}")
                 for p in self.forward.params}
        shape = (self.T, self.R)
        fixed_sh = {v: pytensor.shared(np.zeros(shape, dtype=m[v].dtype), name=f"fixed__{v}") for v in fixed}
        seen = {v: x for kind, v, x, *_ in likelihood if kind == "event"}  # observed: fixed, and weighted
        repl = {m[p]: s for p, s in theta.items()}
        repl.update({m[v]: s for v, s in fixed_sh.items()})
        repl.update({m[v]: np.full(shape, val, dtype=m[v].dtype) for v, val in (*do, *seen.items())})
        mc = pm.do(m, repl)
        held = set(fixed_sh) | set(dict(do)) | set(seen)
        outputs, tensors = [], []
        if likelihood:  # likelihood weighting: each world weighted by P(observations | world)
            logom = pt.zeros(shape)
            for kind, v, x, *extra in likelihood:
                if kind == "event":
                    p = mc[f"p__{v}"]
                    logom = logom + (pt.log(p) if x == 1.0 else pt.log1p(-p))
                else:  # a soft report of accuracy q: P(report | x_v)
                    logom = logom + pt.log(report_prob(mc[v], x, extra[0]))
            top = pt.max(logom, axis=1, keepdims=True)
            om = pt.exp(logom - top)
            norm = om.sum(axis=1, keepdims=True)
            weigh = lambda x: (om * x).sum(axis=1) / norm[:, 0]  # noqa: E731
            outputs += [("__logw__", ""), ("__omega__", "")]
            tensors += [pt.log(norm[:, 0] / self.R) + top[:, 0], om / norm]
        else:
            weigh = lambda x: x.mean(axis=1)  # noqa: E731
        # Rao-Blackwellised P(v | parents) is only right where the weights cannot depend on v's state:
        # ancestors of an observation use their simulated states
        upstream = ancestral_set(self.r, {v for _, v, *_ in likelihood}) if likelihood else set()
        for v in self.forward.states:
            if v in held:
                continue
            if per_world:  # every world's state, and what Rao-Blackwellises it: P(event | parents), an index's eta
                event = self.r.variables[v].kind == "event"
                outputs += [(v, "state"), (v, "p" if event else "eta")]
                tensors += [mc[v], mc[f"p__{v}" if event else f"eta__{v}"]]
            elif self.r.variables[v].kind == "event":
                outputs.append((v, "p"))
                tensors.append(weigh(mc[v] if v in upstream else mc[f"p__{v}"]))
            else:
                outputs += [(v, "level"), (v, "eta")]
                tensors += [weigh(mc[v]), mc[f"eta__{v}"]]
        fn = pm.pytensorf.compile([], tensors, random_seed=0, mode=MODE)
        self.compiles += 1
        self._world_fns[key] = _WorldFn(fn, theta, fixed_sh, outputs)
        return self._world_fns[key]

    def _load(self, wf: _WorldFn, theta: dict[str, np.ndarray], fixed: dict[str, np.ndarray]
              ) -> dict[str, np.ndarray]:
        """``theta`` and the ``fixed`` states (per draw or per world) into ``wf``'s shared arrays; returns the fixed
        states as (T, R) arrays."""
        lay = self.forward.layout
        for p, sh in wf.theta.items():
            sh.set_value(lay.join(p, theta).astype(sh.dtype))
        out = {}
        for v, sh in wf.fixed.items():
            x = np.asarray(fixed[v])
            out[v] = np.broadcast_to(x if x.ndim == 2 else x[:, None], (self.T, self.R)).astype(float)
            sh.set_value(out[v].astype(sh.dtype))
        return out

    def noise_sd(self, theta: dict[str, np.ndarray], v: str) -> np.ndarray:
        """Index ``v``'s noise sd per draw (T,): its draws, or its fixed value."""
        tau = theta.get(f"noise__{v}")
        return np.full(self.T, self.numbers.noise[v]["kwargs"]["c"]) if tau is None else tau

    def simulate(
        self,
        theta: dict[str, np.ndarray],
        *,
        fixed: dict[str, np.ndarray] | None = None,
        do: dict[str, float] | None = None,
        likelihood: tuple[tuple, ...] = (),
        seed: int = 0,
    ) -> dict[str, np.ndarray]:
        """Worlds given parameter draws; returns per-draw outcomes, shape (T,).

        ``fixed`` holds states taken from a posterior, per draw (T,) or per world (T, R);
        ``do`` holds interventions. For each variable the result is P(v | draw)
        for an event and E[x_v | draw] for an index; ``eta__v`` (T, R) is kept
        for index questions.

        ``likelihood`` holds observations of events, ``("event", v, x)``, or soft
        reports on them, ``("soft", v, x, accuracy)``, taken into account by
        likelihood weighting: an observed event is fixed at its value and each
        world weighted by P(observations | world); every result is then the
        weighted mean over the worlds of its draw, ``__omega__`` (T, R) holds
        those weights and ``__logw__`` (T,) the log of P(observations | draw),
        estimated by the mean over the worlds (unbiased), for weighting the draws.
        """
        fixed, do = fixed or {}, do or {}
        wf = self._world_fn(tuple(sorted(fixed)), tuple(sorted(do.items())), tuple(likelihood))
        self._load(wf, theta, fixed)
        _reseed(wf.fn, seed)
        raw = dict(zip(wf.outputs, wf.fn()))
        out: dict[str, np.ndarray] = {}
        for v, val in do.items():
            out[v] = np.full(self.T, float(val))
        for v, x in fixed.items():
            x = np.asarray(x, dtype=float)
            out[v] = x if x.ndim == 1 else x.mean(axis=1)
        for kind, v, x, *_ in likelihood:
            if kind == "event":
                out[v] = np.full(self.T, float(x))
        for (v, what), value in raw.items():
            out[f"eta__{v}" if what == "eta" else v] = value
        return out

    def worlds(self, theta: dict[str, np.ndarray], fixed: dict[str, np.ndarray], seed: int = 0
               ) -> dict[str, np.ndarray]:
        """Every world of every draw (T, R), for the analyses that need more than each draw's mean (signposts):
        ``v`` the state of each variable simulated (events 0/1, indices their level), ``p__v`` an event's
        P(v | its parents in that world), ``eta__v`` an index's propensity; ``fixed`` (per draw or per world)
        as in :meth:`simulate`, returned as given."""
        wf = self._world_fn(tuple(sorted(fixed)), (), (), per_world=True)
        out = self._load(wf, theta, fixed)
        shape = (self.T, self.R)
        _reseed(wf.fn, seed)
        for (v, what), value in zip(wf.outputs, wf.fn()):
            key = v if what == "state" else f"{'p' if what == 'p' else 'eta'}__{v}"
            out[key] = np.broadcast_to(np.asarray(value, dtype=float), shape)
        return out

    def exceed(self, outcome: dict[str, np.ndarray], theta: dict[str, np.ndarray], v: str, t: float,
               omega: np.ndarray | None = None) -> np.ndarray:
        """P(index v > t | draw): Rao-Blackwellised through the logit-normal's CDF; ``omega`` (T, R):
        the worlds' likelihood weights (``simulate``'s ``__omega__``), if any."""
        if f"eta__{v}" not in outcome:
            return (outcome[v] > t).astype(float)
        above = Index.exceed(outcome[f"eta__{v}"], self.noise_sd(theta, v)[:, None], t)
        return above.mean(axis=1) if omega is None else (above * omega).sum(axis=1)
