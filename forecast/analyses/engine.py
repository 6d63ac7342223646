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
from pytensor.tensor.random.type import RandomGeneratorType
from scipy.special import ndtr

from forecast.compile import Numbers, build, set_hyper
from forecast.spec.resolve import Resolved

log = logging.getLogger(__name__)


def _reseed(fn, seed: int) -> None:
    rngs = [v for v in fn.get_shared() if isinstance(v.type, RandomGeneratorType)]
    pm.pytensorf.reseed_rngs(rngs, seed)


@dataclass
class _WorldFn:
    fn: object
    theta: dict[str, object]  # param name -> shared (T,)
    fixed: dict[str, object]  # state name -> shared (T, R)
    outputs: list[str]


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
        """T draws of every random parameter under ``numbers``' hyperparameters."""
        if not self.accepts(numbers):
            raise ValueError("prior families changed: build a new Engine")
        set_hyper(self.forward.model, numbers)
        if self._theta_fn is None:
            outs = [self.forward.model[p] for p in self.forward.params]
            self._theta_fn = pm.pytensorf.compile([], outs, random_seed=seed)
            self.compiles += 1
        _reseed(self._theta_fn, seed)
        return {p: np.asarray(v) for p, v in zip(self.forward.params, self._theta_fn())}

    def _world_fn(self, fixed: tuple[str, ...], do: tuple[tuple[str, float], ...]) -> _WorldFn:
        key = (fixed, do)
        if key in self._world_fns:
            return self._world_fns[key]
        m = self.forward.model
        theta = {
            p: pytensor.shared(np.zeros(self.T, dtype=m[p].dtype), name=f"theta__{p}") for p in self.forward.params
        }
        shape = (self.T, self.R)
        fixed_sh = {v: pytensor.shared(np.zeros(shape, dtype=m[v].dtype), name=f"fixed__{v}") for v in fixed}
        repl = {m[p]: s for p, s in theta.items()}
        repl.update({m[v]: s for v, s in fixed_sh.items()})
        repl.update({m[v]: np.full(shape, val, dtype=m[v].dtype) for v, val in do})
        mc = pm.do(m, repl)
        free = [v for v in self.forward.states if v not in fixed_sh and v not in dict(do)]
        outputs = []
        for v in free:
            outputs.append(v)
            outputs.append(f"p__{v}" if self.r.variables[v].kind == "event" else f"eta__{v}")
        fn = pm.pytensorf.compile([], [mc[o] for o in outputs], random_seed=0)
        self.compiles += 1
        self._world_fns[key] = _WorldFn(fn, theta, fixed_sh, outputs)
        return self._world_fns[key]

    def simulate(
        self,
        theta: dict[str, np.ndarray],
        *,
        fixed: dict[str, np.ndarray] | None = None,
        do: dict[str, float] | None = None,
        seed: int = 0,
    ) -> dict[str, np.ndarray]:
        """Worlds given parameter draws; returns per-draw outcomes, shape (T,).

        ``fixed`` holds states taken from a posterior, per draw (T,) or per world (T, R);
        ``do`` holds interventions. For each variable the result is P(v | draw)
        for an event and E[x_v | draw] for an index; ``eta__v`` and ``level__v``
        (T, R) are kept for index questions.
        """
        fixed, do = fixed or {}, do or {}
        wf = self._world_fn(tuple(sorted(fixed)), tuple(sorted(do.items())))
        for p, sh in wf.theta.items():
            sh.set_value(np.asarray(theta[p], dtype=sh.dtype))
        for v, sh in wf.fixed.items():
            x = np.asarray(fixed[v])
            sh.set_value(np.broadcast_to(x if x.ndim == 2 else x[:, None], (self.T, self.R)).astype(sh.dtype))
        _reseed(wf.fn, seed)
        raw = dict(zip(wf.outputs, wf.fn()))
        out: dict[str, np.ndarray] = {}
        for v in self.forward.states:
            kind = self.r.variables[v].kind
            if v in do:
                out[v] = np.full(self.T, float(do[v]))
            elif v in fixed:
                x = np.asarray(fixed[v], dtype=float)
                out[v] = x if x.ndim == 1 else x.mean(axis=1)
            elif kind == "event":
                out[v] = raw[f"p__{v}"].mean(axis=1)
            else:
                out[v] = raw[v].mean(axis=1)
                out[f"eta__{v}"] = raw[f"eta__{v}"]
        return out

    def exceed(self, outcome: dict[str, np.ndarray], theta: dict[str, np.ndarray], v: str, t: float) -> np.ndarray:
        """P(index v > t | draw): Rao-Blackwellised through the logit-normal's CDF."""
        if f"eta__{v}" not in outcome:
            return (outcome[v] > t).astype(float)
        tau = theta.get(f"noise__{v}")
        if tau is None:
            tau = np.full(self.T, self.numbers.noise[v]["kwargs"]["c"])
        z = (np.log(t / (1 - t)) - outcome[f"eta__{v}"]) / tau[:, None]
        return (1.0 - ndtr(z)).mean(axis=1)
