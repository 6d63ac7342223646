"""Condition on evidence: ``pm.observe`` on the evidence's ancestral model, then a real sampler.

Only the evidence's ancestral set (observed variables and everything with a
claim path into them) carries information from the evidence; every other
parameter keeps its prior. That part is built as a single system, observed with
``pm.observe`` and sampled: NUTS for continuous parameters and PyMC's
binary Gibbs steps for gates and latent events (``sampler="pymc"``), or nutpie
after ``pymc_extras.marginalize`` removed every binary latent
(``sampler="nutpie"``, only when nothing has to be recovered from the marginals).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import arviz as az
import numpy as np
import pymc as pm

from forecast.analyses.exact import latent_event_posterior, sample_configs
from forecast.compile import Numbers, ancestral_set, build
from forecast.spec.resolve import Resolved

log = logging.getLogger(__name__)

RHAT_MAX, ESS_MIN = 1.01, 400


@dataclass
class Posterior:
    theta: dict[str, np.ndarray]  # random parameters of the ancestral set, (T,)
    states: dict[str, np.ndarray]  # observed states and latent indices of the ancestral set, (T,)
    idata: az.InferenceData | None
    diagnostics: dict = field(default_factory=dict)
    latent: list[str] = field(default_factory=list)  # unobserved events of the ancestral set
    configs: np.ndarray | None = None  # (2**k, k) joint states of ``latent``
    config_probs: np.ndarray | None = None  # (T, 2**k): P(config | parameters, evidence)

    def event_prob(self, v: str) -> np.ndarray:
        """P(latent event v | parameters, evidence), per draw."""
        return self.config_probs @ self.configs[:, self.latent.index(v)]

    def latent_worlds(self, reps: int, seed: int) -> dict[str, np.ndarray]:
        """States (T, reps) of the latent events, drawn jointly from their exact posterior."""
        if not self.latent:
            return {}
        idx = sample_configs(self.config_probs, reps, seed)
        return {v: self.configs[idx, i].astype(float) for i, v in enumerate(self.latent)}


def health(idata: az.InferenceData | None, sampler: str) -> dict:
    """R-hat, bulk and tail ESS, divergences, and plain-word warnings."""
    if idata is None or not len(idata.posterior.data_vars):
        return {"method": "exact", "warnings": []}
    summ = az.summary(idata, kind="diagnostics")
    div = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    d = {
        "method": f"MCMC ({sampler})",
        "chains": int(idata.posterior.sizes["chain"]),
        "draws": int(idata.posterior.sizes["draw"]),
        "r_hat_max": float(np.nanmax(summ["r_hat"])) if len(summ) else 1.0,
        "ess_bulk_min": float(np.nanmin(summ["ess_bulk"])) if len(summ) else float("nan"),
        "ess_tail_min": float(np.nanmin(summ["ess_tail"])) if len(summ) else float("nan"),
        "divergences": div,
    }
    warn = []
    if d["r_hat_max"] > RHAT_MAX:
        worst = summ["r_hat"].idxmax()
        warn.append(f"R-hat {d['r_hat_max']:.3f} > {RHAT_MAX} ({worst}): chains disagree; draw more")
    if d["ess_bulk_min"] < ESS_MIN or d["ess_tail_min"] < ESS_MIN:
        warn.append(f"effective sample size below {ESS_MIN} (bulk {d['ess_bulk_min']:.0f}, tail {d['ess_tail_min']:.0f})")
    if div:
        warn.append(f"{div} divergent transitions: the posterior is hard to explore; results may be biased")
    d["warnings"] = warn
    return d


def sample_posterior(
    r: Resolved,
    numbers: Numbers,
    draws: int,
    *,
    seed: int = 0,
    chains: int = 2,
    tune: int = 1000,
    sampler: str = "pymc",
    progress: bool = False,
) -> Posterior:
    """Sample P(parameters, ancestral states | evidence); ``draws`` in total over chains."""
    targets = {o.variable for o in r.evidence}
    nodes = ancestral_set(r, targets)
    system = build(r, numbers, nodes=nodes)
    observed = pm.observe(system.model, system.evidence)
    latent = [v.name for v in observed.free_RVs]
    if not latent:  # everything fixed: the evidence only fixes states
        T = draws
        return Posterior({}, {s: np.full(T, system.evidence[s]) for s in system.states if s in system.evidence}, None)
    per_chain = -(-draws // chains)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sampler == "nutpie":
            idata = _nutpie(observed, per_chain, tune, chains, seed, progress)
        else:
            with observed:
                idata = pm.sample(
                    draws=per_chain,
                    tune=tune,
                    chains=chains,
                    cores=1,
                    random_seed=seed,
                    progressbar=progress,
                    compute_convergence_checks=False,
                )
    post = idata.posterior
    flat = lambda name: post[name].values.reshape(-1)[:draws]  # noqa: E731
    theta = {p: flat(p) for p in system.params if p in post}
    states = {}
    kinds = {v: r.variables[v].kind for v in system.states}
    latent = [s for s in system.states if s not in system.evidence and kinds[s] == "event"]
    for s in system.states:
        if s in system.evidence:
            states[s] = np.full(draws, system.evidence[s])
        elif kinds[s] == "index":
            states[s] = flat(s)
    configs = probs = None
    if latent:  # exact given the parameters and the (sampled) index levels: see forecast.analyses.exact
        centred = pm.observe(build(r, numbers, nodes=nodes, centred=True).model, system.evidence)
        free = {v.name: flat(v.name) for v in centred.free_RVs if v.name not in latent}
        configs, probs = latent_event_posterior(centred, free, latent)
    return Posterior(theta, states, idata, health(idata, sampler), latent, configs, probs)


def _nutpie(model: pm.Model, draws: int, tune: int, chains: int, seed: int, progress: bool) -> az.InferenceData:
    import nutpie
    discrete = [v for v in model.free_RVs if v.type.dtype.startswith("int")]
    if discrete:
        # marginalize() would remove them, but pymc-extras 0.10 cannot recover a
        # latent whose dependent is itself marginalised, and we report them all.
        raise NotImplementedError(
            f"nutpie needs a model without binary latents; this one has {len(discrete)} "
            "(claim gates or unobserved events): use sampler='pymc'"
        )
    compiled = nutpie.compile_pymc_model(model)
    return nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, seed=seed, progress_bar=progress)
