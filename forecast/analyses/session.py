"""Runs, posteriors and what-ifs of one model, reusing compiled functions.

A :class:`Session` holds one model file, its sources folder and the chosen prior
set. ``run`` gives a :class:`Result`: per-draw outcomes for every variable and
question (one value per parameter draw), from which summaries, what-if
differences and reports are computed.

What-if semantics
-----------------
* ``do`` (an intervention, ``pm.do``), read as "had X been so": what the
  evidence taught us is kept (the parameter draws and the states of variables
  not downstream of the intervention come from the baseline posterior given
  all evidence; so are the gates of the claims into what is simulated again:
  :meth:`Posterior.abduct`), the intervened variables are fixed, and everything
  downstream of them is simulated again, ignoring the evidence observed there
  (it describes the world the intervention replaces). The parameter draws are
  the baseline's, so differences are paired draw by draw. An observation added
  beside an intervention is a fact about the actual world: it enters the
  posterior, the same in ``run`` and in a what-if.
* prior changes (``--set``, another prior set): without evidence the same
  compiled functions are fed new hyperparameters and the same seed (common
  random numbers); with evidence, :meth:`Session.variant` importance-reweights
  the baseline posterior (PSIS, Pareto k reported) and ``run`` samples anew.
* ``observe``: more evidence. ``run`` samples a new posterior; a what-if
  (:meth:`Session.variant`) first tries :meth:`Session.observed`: the
  baseline's draws conditioned exactly on an observation inside the evidence's
  ancestral set, likelihood-weighted worlds for one outside it, then PSIS over
  the draws (Pareto k reported); a new posterior only when that fails.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from forecast.analyses.engine import Engine
from forecast.analyses.manifest import manifest
from forecast.analyses.posterior import PARETO_K_MAX, Posterior, psis
from forecast.analyses.posteriors import Posteriors
from forecast.analyses.runs import Result, Runs, Settings
from forecast.compile import Numbers, descendants
from forecast.spec import load_model, load_prior_set, resolve
from forecast.spec.checks import raise_assignments
from forecast.spec.defaults import DEFAULTS
from forecast.spec.errors import SpecError
from forecast.spec.limits import memory_problems, settings_problems
from forecast.spec.locate import prior_set_path
from forecast.spec.resolve import Resolved

log = logging.getLogger(__name__)


class SessionPriors:
    """The prior set a :class:`Session` was opened with, as ``Session.resolve``'s default (``None`` already
    means the package defaults)."""


class Session:
    """One model, sources folder and prior set; runs share compiled functions.

    Parameters
    ----------
    model
        Path (or name under ``models/``) of the model file.
    priors
        Prior set, found by :func:`forecast.spec.locate.prior_set_path`: ``None`` for the model's
        baseline (``priors/<model id>/baseline.toml``, else the package defaults), ``"default"`` for the
        package defaults, a bare name for ``priors/<model id>/<name>.toml``, else a path.
    sets
        ``--set`` overrides, ``{"claims.c1.credence": "0.3"}``.
    sources
        Folder of the source texts (checks every locator); optional.
    draws
        Parameter draws (forward) or posterior draws over all chains.
    as_of
        Forecast as of this date: only the evidence dated on or before it (``--as-of``).
    """

    def __init__(
        self,
        model: str | Path,
        priors: str | Path | None = None,
        sets: dict[str, str] | None = None,
        sources: str | Path | None = None,
        *,
        draws: int = DEFAULTS["draws"],
        seed: int = DEFAULTS["seed"],
        sampler: str = DEFAULTS["sampler"],
        chains: int = DEFAULTS["chains"],
        tune: int = DEFAULTS["tune"],
        progress: bool = False,
        as_of: dt.date | None = None,
    ):
        from forecast.spec.load import find_file

        self.model_path = find_file(model, "models")
        self.model = load_model(self.model_path)
        self.as_of = as_of
        # the model as it stood then: the evidence dated later left out (by default, the model's own date)
        self.model = self.model.speaking_date() if as_of is None else self.model.as_of_date(as_of)
        self.sources = sources
        self.priors_path, self.sets = self.locate(priors), dict(sets or {})
        bad = settings_problems(draws, seed, tune, chains)
        if bad:
            raise SpecError(bad)
        self.runs = Runs(Settings(draws=draws, seed=seed, sampler=sampler, chains=chains, tune=tune,
                                  progress=progress))
        self.baseline = self.resolve()
        bad = memory_problems(self.baseline, draws)  # before any work: refuse what cannot fit, saying how much
        if bad:
            raise SpecError(bad)

    # the run settings live in ``self.runs.settings``; read here for the manifest, the export and the callers
    draws = property(lambda self: self.runs.settings.draws)
    seed = property(lambda self: self.runs.settings.seed)
    sampler = property(lambda self: self.runs.settings.sampler)
    chains = property(lambda self: self.runs.settings.chains)
    tune = property(lambda self: self.runs.settings.tune)
    progress = property(lambda self: self.runs.settings.progress)

    def locate(self, priors: str | Path | None, origin: str = "--priors",
               relative_to: str | Path | None = None) -> Path | None:
        """The file a prior-set argument means for this model (None: the package defaults); see ``priors``."""
        return prior_set_path(priors, self.model_path, self.model.info.id, origin=origin, relative_to=relative_to)

    def prior_set_name(self, path: str | Path | None) -> str:
        return "package defaults" if path is None else Path(path).stem

    def resolve(self, priors: Path | None | type[SessionPriors] = SessionPriors, sets: dict | None = None,
                observe: dict | None = None) -> Resolved:
        """Resolve the model under a prior set (a located file, None for the package defaults; by default the
        session's own, :class:`SessionPriors`) and extra overrides."""
        path = self.priors_path if priors is SessionPriors else priors
        ps = load_prior_set(path, {**self.sets, **(sets or {})})
        r = resolve(self.model, ps, sources_dir=self.sources)
        if observe:
            raise_assignments(r, observe, "--observe")
            r = resolve(self.model, ps, observe=observe)
        return r

    def engine(self, numbers: Numbers, r: Resolved) -> Engine:
        """The compiled simulator for ``numbers``' prior structure (:meth:`Runs.engine`)."""
        return self.runs.engine(numbers, r)

    @property
    def posteriors(self) -> Posteriors:
        return self.runs.posteriors

    def prefetch(self, r: Resolved, start: Posterior | None = None) -> None:
        """Start sampling ``r``'s posterior in the background; :meth:`run` picks it up (:class:`Posteriors`)."""
        self.posteriors.prefetch(r, start)

    def _simulate(self, r: Resolved, numbers: Numbers, post: Posterior | None, do: dict[str, float],
                  logw: np.ndarray | None, likelihood: tuple[tuple, ...] = ()) -> Result:
        return self.runs.simulate(r, numbers, post, do, logw, self.manifest(r, do), likelihood)

    def run(self, r: Resolved | None = None, do: dict[str, float] | None = None, start: Posterior | None = None
            ) -> Result:
        """Forward simulation (no evidence) or posterior (evidence), with optional interventions. ``start``:
        see :meth:`Posteriors.get`."""
        r = r or self.baseline
        do = {k: float(v) for k, v in (do or {}).items()}
        raise_assignments(r, do, "--do")
        numbers = Numbers.of(r)
        return self._simulate(r, numbers, self.runs.posterior(r, numbers, start), do, None)

    def variant(self, base: Result, r: Resolved, do: dict[str, float] | None = None,
                reweighting: tuple[Posterior, np.ndarray, float] | None = None, resample: bool = True) -> Result:
        """``base`` under the priors of ``r`` (same evidence and interventions), without recompiling.

        Without evidence the compiled simulator is fed the new hyperparameters
        (same seed: common random numbers). With evidence the base posterior is
        importance-reweighted: ``weights`` (PSIS-smoothed), Pareto k in ``diagnostics``; where k exceeds
        ``PARETO_K_MAX`` the draws cannot carry the change and the posterior is sampled anew (:meth:`run`).
        Further evidence goes to :meth:`observed`; a change of prior family, or evidence the draws
        cannot absorb, falls back to :meth:`run`. ``reweighting``: :meth:`reweighting`'s answer for ``r``, when
        the caller has it already (:meth:`prefetch_variant`). ``resample=False``: never sample anew for a Pareto k
        above ``PARETO_K_MAX``; the reweighted draws are returned with their k (and its warning) for the caller
        to flag (:mod:`forecast.analyses.flips`).
        """
        numbers, old = Numbers.of(r), Numbers.of(base.resolved)
        do = {k: float(v) for k, v in (base.do if do is None else do).items()}
        raise_assignments(r, do, "--do")
        if r.evidence != base.resolved.evidence:
            return self.observed(base, r, do) or self.run(r, do=do)
        if not self.engine(numbers, r).accepts(old):
            return self.run(r, do=do)
        if base.posterior is None or numbers == old:  # nothing to reweight
            return self._simulate(r, numbers, base.posterior, do, None)
        if base.weights is not None:  # its draws are weighted already (a further observation, other priors):
            return self.run(r, do=do)  # weights on weights would lean on the first set's smoothing: sample anew
        post, logw, k = reweighting or self.reweighting(base, r)
        if k > PARETO_K_MAX and resample:  # the draws cannot carry the new priors: sample anew from base's chains' end
            log.info("reweighting's Pareto k %.2f > %s: sampling anew", k, PARETO_K_MAX)
            fresh = self.run(r, do=do, start=base.posterior)
            fresh.diagnostics["method"] += (f"; sampled anew (reweighting the baseline's draws gave Pareto k "
                                            f"{k:.2f} > {PARETO_K_MAX})")
            fresh.diagnostics["pareto_k_reweighting"] = k
            return fresh
        return self._simulate(r, numbers, post, do, logw)

    def reweighting(self, base: Result, r: Resolved) -> tuple[Posterior, np.ndarray, float] | None:
        """``base``'s draws under ``r``'s priors as :meth:`variant` weighs them: (posterior, log weights, Pareto
        k); None where :meth:`variant` does not reweight (other evidence, another prior family, no posterior to
        reweight, draws weighted already, the same numbers)."""
        numbers, old = Numbers.of(r), Numbers.of(base.resolved)
        if (base.posterior is None or base.weights is not None or numbers == old
                or r.evidence != base.resolved.evidence or not self.engine(numbers, r).accepts(old)):
            return None
        post, logw = base.posterior.reweighted(old, numbers)
        return post, logw, psis(logw)[1]

    def prefetch_variant(self, base: Result, r: Resolved) -> tuple[Posterior, np.ndarray, float] | None:
        """Start the fresh posterior :meth:`variant` will need for ``r`` if ``base``'s draws cannot carry it
        (Pareto k above ``PARETO_K_MAX``); return the reweighting, to hand to :meth:`variant`."""
        rw = self.reweighting(base, r)
        if rw is not None and rw[2] > PARETO_K_MAX:
            self.prefetch(r, start=base.posterior)
        return rw

    def without(self, base: Result, obs_id: str) -> Result:
        """``base`` as if observation ``obs_id`` had not been made: its posterior draws, importance-weighted
        (:meth:`Posterior.without`; Pareto k in ``diagnostics``), nothing sampled or compiled again; or, where
        :meth:`Posterior.without_untrusted` says the draws cannot carry it, a fresh posterior without it."""
        r = base.resolved
        if base.posterior is None or base.weights is not None:
            raise ValueError("without(): needs an unweighted posterior result")
        rest = self.without_resolved(base, obs_id)
        why = base.posterior.without_untrusted(obs_id)
        if why:  # the draws cannot carry it: a fresh posterior without the observation
            log.info("leaving %s out: %s; sampling anew", obs_id, why)
            res = self.run(rest, do=base.do, start=base.posterior)
            res.diagnostics["method"] += f"; sampled anew without {obs_id} ({why})"
            return res
        post, logw = base.posterior.without(obs_id)
        return self._simulate(rest, Numbers.of(r), post, base.do, logw)

    def reversed(self, base: Result, obs_id: str) -> Result:
        """``base`` as if observation ``obs_id`` had come out the other way (an observed event's value flipped, a
        soft report saying the opposite): its posterior draws, importance-weighted (:meth:`Posterior.reversed`;
        Pareto k in ``diagnostics``), nothing sampled again; a k above ``PARETO_K_MAX`` says the draws cannot
        carry it (the caller flags it). ``forecast run --observe VAR=VALUE`` is the fresh posterior of an
        event's reversal."""
        if base.posterior is None or base.weights is not None or base.do:
            raise ValueError("reversed(): needs an unweighted posterior result without interventions")
        post, logw = base.posterior.reversed(obs_id)
        r = base.resolved
        flipped = tuple(replace(o, value=1.0 - o.value) if o.id == obs_id else o for o in r.evidence)
        return self._simulate(replace(r, evidence=flipped), Numbers.of(r), post, {}, logw)

    @staticmethod
    def without_resolved(base: Result, obs_id: str) -> Resolved:
        """``base``'s spec without observation ``obs_id``."""
        r = base.resolved
        return replace(r, evidence=tuple(o for o in r.evidence if o.id != obs_id))

    def prefetch_without(self, base: Result) -> None:
        """Start the fresh posteriors :meth:`without` will need (observations the draws cannot leave out)."""
        if base.posterior is None or base.weights is not None:
            return
        for ob in base.resolved.evidence:
            if base.posterior.without_untrusted(ob.id):
                self.prefetch(self.without_resolved(base, ob.id), start=base.posterior)

    def whatif_resolved(self, scenario: str | None = None, sets: dict | None = None, priors=None,
                        observe: dict | None = None) -> tuple[Resolved, dict[str, float], str]:
        """The spec, interventions and label of ``forecast whatif``'s arguments (a named scenario, then
        ``--set`` / ``--priors`` / ``--observe`` on top of the session's prior set)."""
        r, do, label = self.baseline, {}, "what-if"
        if scenario:
            r, do = scenario_resolved(self, scenario)
            label = self.model.scenario(scenario).label
        if sets or priors or observe:
            r = self.resolve(self.locate(priors) if priors else SessionPriors, sets=sets or None,
                             observe=observe or None)
        return r, do, label

    def whatif(self, scenario: str | None = None, sets: dict | None = None, priors=None,
               observe: dict | None = None, do: dict | None = None) -> tuple[Result, Result, str, tuple[str, str]]:
        """``forecast whatif``: its arguments resolved (bad input raises before anything is sampled), then the
        baseline (the session's prior set) and the what-if beside it (its manifest holding every argument);
        returns both, the label, and the names of the two prior sets compared."""
        base_name = self.prior_set_name(self.priors_path)
        alt_name = self.prior_set_name(self.locate(priors)) if priors else base_name
        r, sdo, label = self.whatif_resolved(scenario, sets, priors, observe)
        acts = {**sdo, **(do or {})}
        raise_assignments(r, acts, "--do")  # before any sampling
        base = self.run()
        alt = self.variant(base, r, acts)
        alt.manifest.update(baseline_priors=base_name, priors=alt_name, scenario=scenario, sets=dict(sets or {}),
                            observe=dict(observe or {}), do=acts)
        return base, alt, label, (base_name, alt_name + (" with --set" if sets else ""))

    def scenario(self, base: Result, name: str) -> Result:
        """A named scenario beside ``base`` (:meth:`variant`: paired draws, reweighted where it can)."""
        r, do = scenario_resolved(self, name)
        return self.variant(base, r, do)

    def observed(self, base: Result, r: Resolved, do: dict[str, float] | None = None) -> Result | None:
        """``base`` given the further evidence of ``r`` (same priors), without a new posterior, or None.

        An observation about the evidence's ancestral set (a latent event, an index level) conditions
        each draw exactly (:meth:`Posterior.observed`); an observed event or soft report outside it
        is taken in by likelihood weighting of the simulated worlds (:meth:`Engine.simulate`). The draws
        are then importance-weighted (PSIS). None, to sample anew (:meth:`run`, whose answer this must equal),
        when an observation is of another kind, lies downstream of an intervention (it describes the actual
        world, not the simulated hypothetical one), or the weights lean on a few draws (Pareto k > 0.7).
        """
        old = base.resolved.evidence
        extra = [o for o in r.evidence if o not in old]
        numbers = Numbers.of(r)
        post = base.posterior
        if (post is None or base.weights is not None or not extra or any(o not in r.evidence for o in old)
                or numbers != Numbers.of(base.resolved)):
            return None
        inside = set(post.latent) | set(post.states)
        outside = [o for o in extra if o.variable not in inside]
        do = {k: float(v) for k, v in (base.do if do is None else do).items()}
        if any(o.kind == "index" for o in outside):
            return None
        if do and any(o.variable in descendants(r, do) for o in outside):
            # an observation describes the world as it is; downstream of an intervention the worlds simulated
            # are the hypothetical ones, so weighting them by it would condition on the wrong world
            return None
        got = post.observed([o for o in extra if o.variable in inside])
        if got is None:
            return None
        likelihood = tuple(("event", o.variable, float(o.value)) if o.kind == "event"
                           else ("soft", o.variable, float(o.value), float(o.accuracy)) for o in outside)
        res = self._simulate(r, numbers, got[0], do, got[1], likelihood)
        if res.diagnostics["pareto_k"] > PARETO_K_MAX or not np.all(np.isfinite(res.weights)):
            return None
        res.diagnostics["method"] += "; the new observations by importance weights on its draws"
        return res

    def manifest(self, r: Resolved, do: dict[str, float]) -> dict:
        return manifest(self, r, do)


def scenario_resolved(session: Session, name: str) -> tuple[Resolved, dict[str, float]]:
    """The resolved spec and interventions of a named scenario."""
    sc = session.model.scenario(name)
    priors = SessionPriors
    if sc.priors:
        priors = session.locate(sc.priors, origin=f"{session.model_path}: scenarios.{name}.priors",
                                relative_to=Path(session.model_path).parent)
    r = session.resolve(priors, sets=sc.set or None, observe=sc.observe or None)
    return r, {k: float(v) for k, v in sc.do.items()}


__all__ = ["Result", "Session", "SessionPriors", "scenario_resolved"]
