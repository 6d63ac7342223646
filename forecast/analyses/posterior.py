"""Condition on evidence: the ancestral system, binaries summed out, sampled by NUTS.

Only the evidence's ancestral set (observed variables and everything with a
claim path into them) carries information from the evidence; every other
parameter keeps its prior. That part is built by
:func:`forecast.compile.marginal.build_marginal` (claim gates and unobserved
events summed out exactly), its measurements observed with ``pm.observe``, and
its continuous parameters sampled with NUTS (:mod:`forecast.analyses.nuts`:
NumPyro on JAX by default, PyMC's own sampler or nutpie).

From every posterior draw the summed-out binaries are recovered exactly, in one
compiled call vectorised over draws (:mod:`forecast.analyses.recovery`): the joint posterior of the latent events
and each claim's posterior probability of being real. The same call, fed other
hyperparameters, gives importance weights for a what-if that changes only
priors (:meth:`Posterior.reweighted`), checked with Pareto-smoothed importance
sampling (the Pareto k diagnostic).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field, replace

import arviz as az
import numpy as np
import pymc as pm
from pymc.exceptions import SamplingError

from forecast.analyses import nuts
from forecast.analyses.health import health, namer
from forecast.analyses.recovery import Enumerated, Factored, Recovery, build_recovery, sample_configs
from forecast.analyses.summary import ESS_MIN, PARETO_K_MAX, RHAT_MAX  # noqa: F401 (re-exported)
from forecast.compile import Numbers, ancestral_set
from forecast.compile.kinds import measurement_logp, report_prob
from forecast.compile.marginal import build_marginal
from forecast.spec.errors import Problem, SpecError
from forecast.spec.resolve import Resolved

log = logging.getLogger(__name__)
IMPOSSIBLE = -600.0  # a draw's log weight below this: the observation cannot happen under it (elimination floors
# a ruled-out state's log at about -690, where enumeration gives -inf)



@dataclass(kw_only=True)
class Posterior:
    """Posterior draws of the evidence's ancestral system and the binaries recovered from them (all (T,) per
    draw), built by keyword only."""

    theta: dict[str, np.ndarray]  # continuous parameters of the ancestral set, (T,)
    states: dict[str, np.ndarray]  # observed events and index levels of the ancestral set, (T,)
    idata: az.InferenceData | None
    diagnostics: dict = field(default_factory=dict)
    joint: Enumerated | Factored | None = None  # the unobserved events' joint posterior, per draw
    gate_probs: dict[str, np.ndarray] = field(default_factory=dict)  # claim -> (T,) P(real | draw, evidence)
    observations: tuple = ()  # the evidence conditioned on (RObservation)
    numbers: Numbers | None = field(default=None, repr=False)  # the hyperparameters sampled under
    lp: np.ndarray | None = field(default=None, repr=False)  # (T,) log p(parameters, evidence) under ``numbers``
    recovery: Recovery | None = field(default=None, repr=False)
    # False once the draws are weighted for other evidence (``observed``, ``without``): ``recovery.recover`` then
    # no longer describes this posterior's evidence (its ``rows``, P(gates | configuration), still apply)
    current: bool = True
    doubled: tuple[str, float] | None = None  # the switch of an observed event left out by ``without``
    warm: nuts.Warm | None = field(default=None, repr=False)  # where the sampler ended (a later run may start there)

    @property
    def gated(self) -> list[str]:
        return self.recovery.gated if self.recovery else []

    @property
    def latent(self) -> list[str]:
        """The unobserved events of the ancestral set."""
        return self.joint.latent if self.joint else []

    @property
    def config_probs(self) -> np.ndarray:
        """(T, K): P(configuration | parameters, evidence) of the enumerated joint."""
        return self.joint.probs

    @property
    def configs(self) -> np.ndarray:
        """(K, L): the enumerated joint's configurations."""
        return self.joint.configs

    @property
    def T(self) -> int:
        return len(self.lp)

    def event_prob(self, v: str) -> np.ndarray:
        """P(latent event v | parameters, evidence), per draw."""
        return self.joint.prob(v)

    def latent_worlds(self, reps: int, seed: int) -> dict[str, np.ndarray]:
        """States (T, reps) of the latent events, drawn jointly from their exact posterior."""
        if not self.latent:
            return {}
        return self.joint.sample(reps, seed)

    def abduct(self, claims, reps: int, seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Gates of ``claims`` per draw (T,) and the latent events' states (T, reps), jointly from the posterior.

        For an intervention: what is downstream of it is simulated again with the draw's parameters, and the
        gates of the claims into it are parameters too, so they are kept from the posterior given all
        evidence ("abduction"), not drawn from their prior credence. Per draw, a configuration k of the latent
        events is drawn from P(k | draw, evidence), then each variable's gate combination from
        P(gates | k, draw, evidence) (the gates of different variables are independent given k); the worlds'
        configurations are then drawn from P(k | those gates, draw, evidence), so that every world holds a
        draw of the joint posterior. Gates outside the ancestral set are not here: their posterior is their
        prior. Without such ``claims`` this is :meth:`latent_worlds`.
        """
        mine = [c for c in claims if c in self.gated]
        if not mine:
            return {}, self.latent_worlds(reps, seed)
        if isinstance(self.joint, Factored):
            return self._abduct_factored(mine, reps, seed)
        rec = self.recovery
        rows = rec.rows(self.numbers)
        if self.doubled is not None:  # configurations [k, v = x] then [k, v = 1 - x]: see ``without``
            rows = np.concatenate([rows, rec.rows(self.numbers, self.doubled)], axis=1)
        rng = np.random.default_rng(seed)
        T, K = self.config_probs.shape
        k0 = sample_configs(self.config_probs, 1, int(rng.integers(2**31)))[:, 0]  # (T,)
        cols = [rec.gated.index(c) for c in mine]
        variables = rec.gate_variables(mine)
        gates = {c: np.zeros(T) for c in mine}
        chains = rec.grid_chains(self.numbers, self.doubled)
        logp = np.log(np.maximum(self.config_probs, 1e-300))  # (T, K): P(k | gates drawn so far)
        for v in variables:
            at = np.array([m for m, w in enumerate(rec.row_var) if w == v])
            p = rows[np.arange(T), k0][:, at]  # (T, rows of v): P(gate combination | k0)
            pick = at[sample_configs(p / p.sum(axis=1, keepdims=True), 1, int(rng.integers(2**31)))[:, 0]]
            for c, j in zip(mine, cols):
                gates[c] = np.maximum(gates[c], rec.row_on[pick, j])  # a gate's on in at most its own rows
            rec.draw_grid_gates(chains, v, k0, pick, gates, rng)
            logp = logp + np.log(np.maximum(rows[np.arange(T), :, pick], 1e-300))  # (T, K)
        probs = np.exp(logp - logp.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        idx = sample_configs(probs, reps, int(rng.integers(2**31))) if self.latent else None
        worlds = {v: self.configs[idx, i].astype(float) for i, v in enumerate(self.latent)} if self.latent else {}
        return gates, worlds

    def _abduct_factored(self, mine: list[str], reps: int, seed: int) -> tuple[dict, dict]:
        """:meth:`abduct` on the eliminated path: one joint state of the latent events per draw, then each
        variable's gate combination given its factor's events in it, then the worlds from the factors with
        those combinations chosen (the factor of a variable becomes its chosen row's)."""
        rec, joint = self.recovery, self.joint
        mg = rec.marginal
        rows = rec.rows(self.numbers)  # (T, Kx, M)
        rng = np.random.default_rng(seed)
        T = self.T
        x0 = joint.draw(1, rng)[:, 0, :]  # (T, L)
        cols = [rec.gated.index(c) for c in mine]
        variables = rec.gate_variables(mine)
        gates = {c: np.zeros(T) for c in mine}
        chains = rec.grid_chains(self.numbers)
        node = joint.node.copy()
        for v in variables:
            j = mg.columns.index(v)
            scope = mg.scopes[j]
            k0 = (x0[:, list(scope)] * 2 ** np.arange(len(scope) - 1, -1, -1)).sum(axis=1).astype(int)  # (T,)
            at = np.array([m for m, w in enumerate(rec.row_var) if w == v])
            p = rows[np.arange(T), k0][:, at]  # (T, rows of v): P(gate combination | its factor's events)
            pick = at[sample_configs(p / p.sum(axis=1, keepdims=True), 1, int(rng.integers(2**31)))[:, 0]]
            for c, jc in zip(mine, cols):
                gates[c] = np.maximum(gates[c], rec.row_on[pick, jc])
            rec.draw_grid_gates(chains, v, k0, pick, gates, rng)
            node[:, :, j] = node[:, :, j] + np.log(np.maximum(rows[np.arange(T), :, pick], 1e-300))
        x = joint.draw(reps, np.random.default_rng(int(rng.integers(2**31))), node)
        return gates, {v: x[:, :, i] for i, v in enumerate(self.latent)}

    def reweighted(self, old: Numbers, new: Numbers) -> tuple[Posterior, np.ndarray]:
        """This posterior under other hyperparameters: (recovered binaries, log importance weights per draw).

        The weight of a draw is p_new(parameters, evidence) / p_old(parameters, evidence)
        with the binaries summed out, smoothed by PSIS.
        """
        T = self.T
        hv_old, hv_new, base = old.hyper_values(), new.hyper_values(), self.numbers.hyper_values()
        rec = self.recovery
        if hv_old == base and all(hv_new.get(k) == hv_old.get(k) for k in rec.hyper_keys):
            # nothing the evidence's ancestral system depends on changed: same draws, same weights
            return replace(self, numbers=new), np.zeros(T)
        same = self.lp is not None and hv_old == base
        if same and rec.prior_lp is not None and all(hv_new.get(k) == base.get(k) for k in rec.joint_keys):
            # only the prior density of the draws changes: the binaries' joint, and what it gives, do not
            logw = np.asarray(rec.prior_lp(new) - rec.prior_lp(old), dtype=float).reshape(T)
            return replace(self, numbers=new, lp=self.lp + logw), logw
        lp_old = self.lp if same else rec.recover(old)[0]
        lp_new, probs, gates, _ = rec.recover(new)
        logw = np.asarray(lp_new - lp_old, dtype=float).reshape(T)
        return replace(self, joint=probs, gate_probs=gates, numbers=new, lp=lp_new), logw

    def observed(self, extra: list) -> tuple[Posterior, np.ndarray] | None:
        """This posterior given further observations: (posterior, log importance weights per draw), or None.

        Exact per draw, then importance-weighted over draws (PSIS), when every new
        observation is about what the draws already describe:

        * an event or a soft report on a latent event of the ancestral set: the
          configurations are conditioned on it (a mask on their joint posterior) and
          a draw's weight is P(observation | parameters, evidence);
        * a measurement of an index level of the ancestral set: weighted by its Normal likelihood.

        Anything else (a variable outside the ancestral set, an event already observed) gives None:
        sample anew.
        """
        if self.recovery is None or not self.current:
            return None
        T = self.T
        unary = np.zeros((len(self.latent), 2))  # log weights of the latent events' states
        logw = np.zeros(T)
        x = np.array([0.0, 1.0])
        for ob in extra:
            if ob.kind in ("event", "soft") and ob.variable in self.latent:
                i = self.latent.index(ob.variable)
                if ob.kind == "event":
                    unary[i] += np.where(x == ob.value, 0.0, -np.inf)
                else:  # a report of accuracy q: P(report | x)
                    unary[i] += np.log(report_prob(x, ob.value, ob.accuracy))
            elif ob.kind == "index" and ob.variable in self.states:
                logw += measurement_logp(self.states[ob.variable], ob.value, ob.sd)
            else:
                return None
        lp, probs, gates, _ = self.recovery.recover(self.numbers, unary=unary)
        logw += lp - self.lp
        if not np.all(np.isfinite(logw)) or np.any(logw < IMPOSSIBLE):  # a draw cannot produce it: sample anew
            return None
        return replace(self, joint=probs, gate_probs=gates, lp=lp, current=False,
                       observations=self.observations + tuple(extra)), logw

    def without_untrusted(self, obs_id: str) -> str | None:
        """Why :meth:`without` cannot be trusted for ``obs_id`` (None: it can).

        Leaving out an index measurement widens the level's distribution: the
        draws, concentrated by the measurement, are then asked to represent a wider
        one, and Pareto k cannot see the region no draw reached. In the Gaussian
        approximation (posterior sd s of the level, measurement sd m, and the spread
        without it s0 with 1/s^2 = 1/s0^2 + 1/m^2) the weights 1/N(y; x, m) have a
        finite variance only when s0 < m, i.e. s^2 < m^2 / 2: the measurement must
        be less informative than everything else about that level.
        """
        ob = next(o for o in self.observations if o.id == obs_id)
        if ob.kind == "event" and isinstance(self.joint, Factored):
            return ("the latent events are summed out one at a time (too many to enumerate), and leaving an observed "
                    "event out would change the order: the draws cannot be reweighted for it")
        if ob.kind != "index" or ob.variable not in self.states:
            return None
        s = float(np.std(self.states[ob.variable]))
        if s * s >= ob.sd * ob.sd / 2:
            return (f"the measurement (sd {ob.sd:g}) dominates what else is known of {ob.variable} (posterior sd "
                    f"{s:.3f}): reweighting the draws would understate what it moved")
        return None

    def without(self, obs_id: str) -> tuple[Posterior, np.ndarray]:
        """This posterior with one observation left out: (posterior, log importance weights per draw).

        Exact per draw, then importance-weighted over draws (PSIS; the evidence
        analogue of leave-one-out cross-validation). The weight of a draw is
        p(other evidence | parameters) / p(all evidence | parameters):

        * an observed event ``v = x``: ``v`` becomes latent; the summed-out joint is
          evaluated again with ``v = 1 - x`` (p(other evidence) is the sum of both),
          and the configurations double, so ``v`` and everything it explains are
          drawn from their posterior given the other evidence;
        * a soft report: its accuracy set to 1/2 (a report that says nothing);
        * an index measurement: the inverse of its Normal likelihood at the draw's level.
        """
        ob = next(o for o in self.observations if o.id == obs_id)
        T = self.T
        rest = [o for o in self.observations if o.id != obs_id]
        if ob.kind == "index":
            logw = -measurement_logp(self.states[ob.variable], ob.value, ob.sd)
            post = replace(self, observations=tuple(rest), current=False)
        elif ob.kind == "event" and any(o.variable == ob.variable and o.kind == "event" for o in rest):
            return replace(self, observations=tuple(rest), current=False), np.zeros(T)
        else:
            lp, probs, gates = self.lp, self.joint, self.gate_probs
            switch = self.recovery.switches[obs_id]
            lp2, probs2, gates2, _ = self.recovery.recover(self.numbers, switch)
            if ob.kind == "soft":
                logw = lp2 - lp
                post = replace(self, joint=probs2, gate_probs=gates2, observations=tuple(rest), current=False)
            else:
                both = np.logaddexp(lp, lp2)
                logw = both - lp
                a = np.exp(lp - both)[:, None]  # P(v = observed value | parameters, other evidence)
                x = float(ob.value)
                K = len(self.configs)
                configs = np.vstack([np.column_stack([self.configs, np.full(K, x)]),
                                     np.column_stack([self.configs, np.full(K, 1.0 - x)])])
                post = replace(
                    self, doubled=switch,
                    joint=Enumerated(latent=[*self.latent, ob.variable], configs=configs,
                                     probs=np.hstack([a * probs.probs, (1 - a) * probs2.probs])),
                    gate_probs={c: a[:, 0] * g + (1 - a[:, 0]) * gates2[c] for c, g in gates.items()},
                    states={v: s for v, s in self.states.items() if v != ob.variable},
                    observations=tuple(rest), current=False)
        return post, np.asarray(logw, dtype=float).reshape(T)

    def reversed(self, obs_id: str) -> tuple[Posterior, np.ndarray]:
        """This posterior with one observation reversed: (posterior, log importance weights per draw).

        Exact per draw through the switch :meth:`without` uses, then importance-weighted over draws
        (PSIS): an observed event ``v = x`` becomes ``v = 1 - x``; a soft report of accuracy q saying the
        opposite is the same report with accuracy 1 - q (P(r | x) = q x + (1 - q)(1 - x) turned round). The
        weight of a draw is p(reversed evidence | parameters) / p(evidence | parameters). An index measurement
        has no reverse, and an event observed twice is not reversed once.
        """
        ob = next(o for o in self.observations if o.id == obs_id)
        twice = sum(o.variable == ob.variable and o.kind == "event" for o in self.observations) > 1
        if ob.kind == "index" or (ob.kind == "event" and twice) or not self.current:
            raise ValueError(f"{obs_id}: only a single observed event or a soft report of the current evidence "
                             "can be reversed")
        name, value = self.recovery.switches[obs_id]
        if ob.kind == "soft":
            value = 1.0 - ob.accuracy
        lp, probs, gates, _ = self.recovery.recover(self.numbers, (name, value))
        flipped = replace(ob, value=1.0 - ob.value)
        states = dict(self.states)
        if ob.kind == "event":
            states[ob.variable] = np.full(self.T, flipped.value)
        post = replace(self, joint=probs, gate_probs=gates, lp=lp, states=states, current=False,
                       observations=tuple(flipped if o.id == obs_id else o for o in self.observations))
        return post, np.asarray(lp - self.lp, dtype=float).reshape(self.T)


def psis(logw: np.ndarray) -> tuple[np.ndarray, float]:
    """Normalised PSIS-smoothed weights and Pareto k (equal weights and k = 0 when ``logw`` is flat)."""
    T = len(logw)
    if np.allclose(logw, logw[0]):
        return np.full(T, 1.0 / T), 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lw, k = az.psislw(logw.copy())
    w = np.exp(lw - lw.max())
    return w / w.sum(), float(k)


def sample_posterior(
    r: Resolved,
    numbers: Numbers,
    draws: int,
    *,
    seed: int = 0,
    chains: int = 2,
    tune: int = 1000,
    sampler: str = "numpyro",
    progress: bool = False,
    warm: nuts.Warm | None = None,
) -> Posterior:
    """Sample P(parameters, ancestral states | evidence); ``draws`` in total over chains. ``warm``: an earlier
    run's end to start from (:func:`forecast.analyses.nuts.sample`)."""
    nodes = ancestral_set(r, {o.variable for o in r.evidence})
    mg = build_marginal(r, numbers, nodes)
    observed = pm.observe(mg.model, mg.evidence)
    names = [rv.name for rv in observed.free_RVs]
    idata, end = None, None
    if names:
        try:
            idata, end = nuts.sample(observed, -(-draws // chains), tune=tune, chains=chains, seed=seed,
                                     sampler=sampler, progress=progress, warm=warm)
        except SamplingError as err:  # no starting point has a finite density: the evidence cannot happen
            ids = ", ".join(o.id for o in r.evidence)
            raise SpecError([Problem(str(r.model.path), "evidence", (
                f"the evidence ({ids}) has no chance under the model at any starting point tried: look for a "
                f"fixed base rate, a fixed strength or a soft report's accuracy that rules an observation out "
                f"(PyMC: {str(err).splitlines()[0]})"))]) from None
        flat = {}
        for n in names:
            x = idata.posterior[n].values
            flat[n] = x.reshape(-1, *x.shape[2:])[:draws]
    else:  # every parameter fixed: the evidence is summed exactly, nothing to sample
        flat = {}
    T = draws
    recovery = build_recovery(mg, {n: flat[n] for n in names}, T)
    lp, joint, gates, levels = recovery.recover(numbers)
    theta = {k: x for n in mg.layout.vectors for k, x in mg.layout.split(n, flat[n]).items()}
    states = {o.variable: np.full(T, o.value) for o in r.evidence if o.kind == "event" and o.variable in nodes}
    states.update(dict(zip(mg.level_ids, levels, strict=True)))
    diag = health(idata, sampler, namer(mg.layout, mg.model.coords), exact=not mg.gridded)
    if mg.gridded:  # say so, and by how much at most (forecast.analyses.summary.approximation_note)
        diag["approximation"] = {"variables": {mg.columns[j]: len(ids) for j, ids in mg.gridded.items()},
                                 "grid": mg.grid, "bound": joint.bound}
    seen = tuple(o for o in r.evidence if o.variable in nodes)
    return Posterior(theta=theta, states=states, idata=idata, diagnostics=diag, joint=joint, gate_probs=gates,
                     observations=seen, numbers=numbers, lp=lp, recovery=recovery, warm=end)
