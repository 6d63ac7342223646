"""What a session has compiled and sampled, and the one way worlds are simulated from it.

:class:`Runs` keeps a model's compiled forward simulators (:class:`~forecast.analyses.engine.Engine`, one per
prior structure: a what-if that only changes numbers reuses it) and its posteriors
(:class:`~forecast.analyses.posteriors.Posteriors`, each sampled once), and turns parameter draws into a
:class:`Result` (:meth:`Runs.simulate`). It knows nothing of prior sets, scenarios or what a what-if means:
:class:`forecast.analyses.session.Session` decides that (which posterior, which weights, which
interventions) and calls it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from forecast.analyses.engine import Engine
from forecast.analyses.posterior import PARETO_K_MAX, Posterior, psis, sample_posterior
from forecast.analyses.posteriors import Posteriors
from forecast.compile import Numbers, descendants
from forecast.spec import horizons
from forecast.spec.resolve import Resolved

log = logging.getLogger(__name__)


@dataclass
class Result:
    """Per-draw outcomes of one run: ``outcomes[v]`` and ``outcomes["q:<id>"]`` have shape (T,)."""

    resolved: Resolved
    outcomes: dict[str, np.ndarray]
    credence_post: dict[str, float] | None
    do: dict[str, float]
    fixed_states: tuple[str, ...]  # variables whose states come from the posterior, not simulated again
    diagnostics: dict
    manifest: dict
    posterior: Posterior | None = field(default=None, repr=False)
    weights: np.ndarray | None = None  # importance weights (T,), normalised; None = equal

    def mean(self, key: str) -> float:
        x = np.asarray(self.outcomes[key], dtype=float)
        return float(x.mean() if self.weights is None else self.weights @ x)

    @property
    def draws(self) -> int:
        return len(next(iter(self.outcomes.values())))


@dataclass(frozen=True, kw_only=True)
class Settings:
    """How runs are made: draws (parameter draws, or posterior draws over all chains), seed, NUTS settings."""

    draws: int
    seed: int
    sampler: str
    chains: int
    tune: int
    progress: bool = False


class Runs:
    """A model's compiled simulators and sampled posteriors, reused by every run of a session."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.engines: list[Engine] = []
        self.posteriors = Posteriors(self.sample)
        self.cache: dict = {}  # what analyses derive from a posterior once (signposts' exact set), by its id

    def engine(self, numbers: Numbers, r: Resolved) -> Engine:
        """The compiled simulator for ``numbers``' prior structure (compiled on first use)."""
        for e in self.engines:
            if e.accepts(numbers):
                return e
        e = Engine(r, self.settings.draws)
        self.engines.append(e)
        return e

    def sample(self, r: Resolved, numbers: Numbers, progress: bool, start: Posterior | None = None) -> Posterior:
        """A new posterior of ``r`` (``start``: a posterior whose sampler's end the chains start from)."""
        st = self.settings
        log.info("sampling the posterior given %d observations", len(r.evidence))
        return sample_posterior(r, numbers, st.draws, seed=st.seed, chains=st.chains, tune=st.tune,
                                sampler=st.sampler, progress=progress, warm=start.warm if start else None)

    def posterior(self, r: Resolved, numbers: Numbers, start: Posterior | None = None) -> Posterior | None:
        """``r``'s posterior, sampled once (None without evidence)."""
        return self.posteriors.get(r, numbers, self.settings.progress, start) if r.evidence else None

    def theta(self, r: Resolved, numbers: Numbers, post: Posterior | None) -> tuple[Engine, dict]:
        """The engine and the parameter draws worlds are simulated from: the prior's (the session's seed), with
        the posterior's where it has them."""
        eng = self.engine(numbers, r)
        theta = eng.sample_theta(numbers, self.settings.seed)
        if post is not None:
            theta.update(post.theta)
        return eng, theta

    def inputs(self, r: Resolved, numbers: Numbers, post: Posterior | None, do: dict[str, float]
               ) -> tuple[Engine, dict, dict, dict]:
        """What the worlds of ``r`` are simulated from: the engine, the parameter draws (the prior's, with the
        posterior's where it has them), the states fixed per draw or per world, and which of those are the
        latent events' worlds drawn from the posterior (:meth:`simulate`, :meth:`worlds`)."""
        seed = self.settings.seed
        eng, theta = self.theta(r, numbers, post)
        cut = descendants(r, do)
        fixed, worlds = {}, {}
        if post is not None:
            fixed = {v: x for v, x in post.states.items() if v not in cut}
            # downstream of an intervention the claims' gates are kept from the posterior, with the worlds
            gates, worlds = post.abduct([c for c in r.claims if r.claims[c].effect in cut], eng.R, seed + 2)
            theta.update({f"gate__{c}": g.astype(theta[f"gate__{c}"].dtype) for c, g in gates.items()})
            worlds = {v: x for v, x in worlds.items() if v not in cut}
            fixed.update(worlds)
        return eng, theta, fixed, worlds

    def worlds(self, r: Resolved, numbers: Numbers, post: Posterior | None) -> tuple[Engine, dict, dict]:
        """Every world (T, R) of ``r`` from ``post``'s draws, as :meth:`simulate` makes them (the same parameter
        draws, posterior states and seeds): the engine, the parameter draws, and :meth:`Engine.worlds`."""
        eng, theta, fixed, _ = self.inputs(r, numbers, post, {})
        return eng, theta, eng.worlds(theta, fixed, seed=self.settings.seed + 1)

    def simulate(self, r: Resolved, numbers: Numbers, post: Posterior | None, do: dict[str, float],
                 logw: np.ndarray | None, manifest: dict, likelihood: tuple[tuple, ...] = ()) -> Result:
        """Worlds for ``r`` from ``post``'s draws (or the prior's), draws weighted by ``logw`` (log importance
        weights) and by ``likelihood`` (further observations, likelihood-weighted in the worlds)."""
        seed = self.settings.seed
        eng, theta, fixed, worlds = self.inputs(r, numbers, post, do)
        out = eng.simulate(theta, fixed=fixed, do=do, likelihood=likelihood, seed=seed + 1)
        omega = out.pop("__omega__", None)
        for v, x in worlds.items():  # exact given the draw, not the world's 0/1 (weighted worlds: their mean)
            out[v] = post.event_prob(v) if omega is None else (omega * x).sum(axis=1)
        if likelihood:
            logw = out.pop("__logw__") + (0.0 if logw is None else logw)
        w, k = psis(logw) if logw is not None else (None, None)
        avg = (lambda x: float(np.mean(x))) if w is None else (lambda x: float(w @ x))  # noqa: E731
        cred_post = None
        if post is not None:
            cred_post = {c: avg(post.gate_probs[c]) if c in post.gate_probs
                         else avg(theta[f"gate__{c}"]) if likelihood and f"gate__{c}" in theta
                         else numbers.credence[c] for c in r.claims}
        rescale = horizons.exponents(r.model, r.evidence, do)  # observed or intervened on: given, not rescaled
        for q in r.model.questions:
            if q.threshold is None:  # an event by its window's end, or by the question's date (constant hazard)
                x = rescale.get(q.id)
                out[f"q:{q.id}"] = out[q.variable] if x is None else horizons.scale(out[q.variable], x)
            else:
                out[f"q:{q.id}"] = eng.exceed(out, theta, q.variable, q.threshold, omega)
        outcomes = {k: v for k, v in out.items() if not k.startswith("eta__")}
        diag = dict(post.diagnostics) if post else {"method": "forward simulation (independent draws)", "warnings": []}
        diag["warnings"] = list(diag.get("warnings", []))
        if post is not None and diag.get("approximation"):  # this posterior's own bound (reweighted, observed)
            diag["approximation"] = {**diag["approximation"], "bound": post.joint.bound}
        if w is not None:
            diag.update(pareto_k=k, ess_weights=float(1.0 / np.sum(w**2)))
            if k > PARETO_K_MAX:
                diag["warnings"].append(
                    f"Pareto k {k:.2f} > {PARETO_K_MAX}: the reweighted draws lean on a few; the change is too "
                    "large for reweighting (run it on its own: forecast run --priors ... / with the evidence)"
                )
        diag.update(draws=self.settings.draws, worlds_per_draw=eng.R, compiles=eng.compiles)
        return Result(r, outcomes, cred_post, do, tuple(sorted(fixed)), diag, manifest, post, w)


__all__ = ["Result", "Runs", "Settings"]
