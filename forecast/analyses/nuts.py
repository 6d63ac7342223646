"""NUTS for the evidence posterior: NumPyro on JAX (default), PyMC's own sampler, or nutpie.

All three sample the same PyMC model (its ``logp`` graph, with ``pm.observe``d
evidence). They differ in how that graph is compiled:

* ``numpyro``: the graph goes to JAX (``pymc.sampling.jax.get_jaxified_graph``)
  and NumPyro's NUTS runs the whole chain inside one XLA program. XLA compiles
  the Hanoi model in seconds and needs no C compiler; the compiled program is
  kept in ``$FORECAST_CACHE/jax`` (default ``~/.cache/forecast/jax``), so the
  next process sampling the same model skips even that (see the README's
  performance section).
* ``pymc``: ``pm.sample``; PyTensor's C backend, a minute or more of C
  compilation on an empty compile cache, then one Python call per gradient.
* ``nutpie``: ``pm.sample(nuts_sampler="nutpie")``; numba compilation.

The NumPyro route is written out here rather than through ``pm.sample`` because
PyMC's wrapper checks each chain's jittered start with an un-jitted JAX logp
(one small XLA compile per operation: ~10 s on Hanoi), and because PyMC folds the
model's data (``pm.Data``: hyperparameters, observed values) into the program as
constants: here they are the program's arguments (:func:`_graph`), so a posterior
under other numbers (a prior set, a credence, a left-out observation switched off)
reuses the compiled program from JAX's cache instead of compiling its own (~9 s on
Hanoi; the gradient inside the chains costs about the same either way, ~0.1 ms). Here the start points
come from PyMC's own initial-point functions (uniform jitter in the
unconstrained space, as ``pm.sample`` does), are checked with the jitted
potential, and the draws are mapped back to the constrained space with PyMC's
own transforms.

A NumPyro run also returns where it ended (:class:`Warm`: the adapted step size
and inverse mass matrix, each chain's last position). A later posterior of a
model with the same free variables (the same model under other priors: a
sensitivity end or a stance the baseline's draws cannot carry) can start there
with a shorter warm-up (``WARM_TUNE`` iterations, adapting both again): on
Hanoi the early warm-up, with its tiny steps and deep trees, is about half the
cost of a posterior.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pymc as pm

SAMPLERS = ("numpyro", "pymc", "nutpie")
# Measured on Hanoi (baseline and the four stance sets, seeds 0-1, 2 chains): at 0.9 with 500 draws per chain
# R-hat reached 1.01-1.02 with tail ESS 193-399 and 1-5 divergences; 0.95 and 0.98 with chains twice as long
# still diverged now and then; 0.99 with chains twice as long, every other draw kept, gave R-hat <= 1.009 and no
# divergences at 1000 draws, at about 5 s more per posterior (docs/semantics.md, "Sampler settings"). Every other
# draw left one stance at bulk ESS 377 at seed 0 once the program changed its floating-point order; every third
# gives bulk ESS >= 670 on the baseline and the stances tried (a dense mass matrix: ESS ~600 at twice the time).
TARGET_ACCEPT = 0.99
THIN = 3  # each chain runs THIN times the draws it keeps: longer chains for the same draws downstream
JITTER_TRIES = 10
WARM_TUNE = 300  # warm-up iterations of a run started from an earlier run's adaptation (Warm)


@dataclass(frozen=True)
class Warm:
    """Where a NumPyro run ended: the free variables it was for (value-variable names and shapes), its
    adapted step size (mean over chains) and inverse mass matrix (chain 0's), each chain's last
    position (unconstrained)."""

    shapes: tuple[tuple[str, tuple[int, ...]], ...]
    step_size: float
    inverse_mass_matrix: Any
    positions: tuple[tuple[np.ndarray, ...], ...]  # per chain, per value variable

    def fits(self, shapes: tuple, chains: int) -> bool:
        """For a model whose value variables have ``shapes`` (:func:`_shapes`), sampled with ``chains``."""
        return shapes == self.shapes and len(self.positions) >= chains


def _shapes(model: pm.Model) -> tuple:
    point = model.initial_point()
    return tuple((v.name, tuple(np.shape(point[v.name]))) for v in model.value_vars)


def sample(model: pm.Model, draws: int, *, tune: int, chains: int, seed: int, sampler: str = "numpyro",
           progress: bool = False, warm: Warm | None = None) -> tuple[az.InferenceData, Warm | None]:
    """``draws`` per chain of ``model``'s free variables (constrained values) and the sampler's statistics;
    and where the run ended (NumPyro only; else None).

    Each chain runs ``THIN * draws`` iterations after tuning and keeps every ``THIN``-th draw; the
    sampler statistics keep every iteration, so no divergence is hidden by the thinning.
    ``progress`` shows PyMC's or nutpie's progress bar; NumPyro's chains run inside one XLA program
    with no per-draw progress (the caller shows the step). ``warm``: start from an earlier NumPyro run's
    adaptation and positions with ``min(tune, WARM_TUNE)`` warm-up iterations, when it fits the model.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; one of {', '.join(SAMPLERS)}")
    end = None
    if sampler == "numpyro":
        idata, end = _numpyro(model, draws * THIN, tune, chains, seed, progress, warm)
    else:
        with warnings.catch_warnings(), model:
            warnings.simplefilter("ignore")
            idata = pm.sample(draws=draws * THIN, tune=tune, chains=chains, cores=1, random_seed=seed,
                              progressbar=progress, nuts_sampler=sampler, compute_convergence_checks=False,
                              target_accept=TARGET_ACCEPT)
    idata.posterior = idata.posterior.isel(draw=slice(THIN - 1, None, THIN))
    return idata, end


def _configure_jax(chains: int) -> None:
    """Before JAX starts its CPU backend: one XLA CPU device per chain, up to the cores there are, so
    that chains run side by side; and XLA's compiled programs kept on disk (``$FORECAST_CACHE/jax``),
    so that a later process with the same model skips the compile. Later calls change nothing."""
    import jax

    from forecast.spec.fit import cache_dir

    try:
        jax.config.update("jax_num_cpu_devices", max(1, min(chains, os.cpu_count() or 1)))
    except RuntimeError:  # the backend is already running: keep its devices
        pass
    if jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))


def _graph(model: pm.Model):
    """``model``'s log density as a JAX function of the value variables *and* its data (``pm.Data``:
    hyperparameters, observed values, report accuracies), which PyMC's ``get_jaxified_graph`` would
    otherwise fold in as constants. With the data as arguments, two models that differ only in their
    numbers (a prior set, a credence, a left-out observation) lower to the same XLA program, and the
    second finds the first's compiled program in JAX's compilation cache instead of compiling again
    (~10 s on Hanoi)."""
    from pytensor.compile.mode import JAX
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.replace import clone_replace
    from pytensor.graph.traversal import graph_inputs
    from pytensor.link.jax.dispatch import jax_funcify

    logp = model.logp()
    shared = [v for v in graph_inputs([logp]) if isinstance(v, SharedVariable)]
    stand = [v.type() for v in shared]
    out = clone_replace(logp, replace=dict(zip(shared, stand, strict=True)))
    fgraph = FunctionGraph(inputs=[*model.value_vars, *stand], outputs=[out], clone=True)
    JAX.optimizer.rewrite(fgraph)
    return jax_funcify(fgraph), [np.asarray(v.get_value()) for v in shared]


def _program(logp, tune: int, draws: int, parallel: bool, warm: bool):
    """All chains of one NUTS run as one compiled XLA program, a function of (keys, starts, (data, step size,
    inverse mass matrix)): the numbers are arguments, not constants baked into the program. Chains run side
    by side on one XLA device each (``parallel``) or one after the other inside the program (NumPyro's own
    "sequential" method would start each chain with an un-jitted gradient, one XLA compile per operation)."""
    import jax
    from numpyro.infer import MCMC, NUTS

    fields = ("diverging", "num_steps", "accept_prob", "potential_energy")

    def chain(key, init, fixed):
        data, step_size, imm = fixed

        def potential(x):
            return -logp(*x, *data)[0]

        kernel = {"step_size": step_size, "inverse_mass_matrix": imm} if warm else {}
        sampler = NUTS(potential_fn=potential, target_accept_prob=TARGET_ACCEPT, **kernel)
        mcmc = MCMC(sampler, num_warmup=tune, num_samples=draws, num_chains=1, progress_bar=False)
        mcmc.run(key, init_params=list(init), extra_fields=fields)
        adapt = mcmc.last_state.adapt_state
        return (mcmc.get_samples(), mcmc.get_extra_fields(), adapt.step_size, adapt.inverse_mass_matrix)

    if parallel:  # (the shared arguments in one tuple: JAX 0.10's pmap mis-maps an empty leading pytree)
        return jax.pmap(chain, in_axes=(0, 0, None))
    return jax.jit(lambda keys, init, fixed: jax.lax.map(lambda a: chain(a[0], a[1], fixed), (keys, init)))


def _numpyro(model: pm.Model, draws: int, tune: int, chains: int, seed: int, progress: bool,
             warm: Warm | None = None) -> tuple[az.InferenceData, Warm]:
    import jax
    from pymc.initial_point import make_initial_point_fn
    from pymc.sampling.jax import get_jaxified_graph

    _configure_jax(chains)
    parallel = jax.local_device_count() >= chains
    values = model.value_vars
    logp, data = _graph(model)

    start = make_initial_point_fn(model=model, jitter_rvs=set(model.free_RVs), return_transformed=True)
    check = jax.jit(lambda x, d: logp(*x, *d)[0])
    rng = np.random.default_rng(seed)
    points = []
    kernel, shapes = None, _shapes(model)
    if warm is not None and warm.fits(shapes, chains):
        points = [list(p) for p in warm.positions[:chains]]
        if all(np.isfinite(float(check(p, data))) for p in points):
            kernel = (np.float64(warm.step_size), np.asarray(warm.inverse_mass_matrix))
            tune = min(tune, WARM_TUNE)
        else:  # the other priors put a start outside their support: start as usual
            points = []
    for _ in range(chains - len(points)):
        for _ in range(JITTER_TRIES):
            point = start(int(rng.integers(2**30)))
            if np.isfinite(float(check([point[v.name] for v in values], data))):
                break
        else:  # as pm.sample does: name the variables whose log density is not finite
            model.check_start_vals(point)
        points.append([point[v.name] for v in values])
    init = [np.stack(x) for x in zip(*points, strict=True)]

    run = _program(logp, tune, draws, parallel, kernel is not None)
    keys = jax.random.split(jax.random.PRNGKey(seed), chains)
    t = time.perf_counter()
    samples, extra, steps, imms = run(keys, init, (data, *(kernel or (np.float64(1.0), np.float64(1.0)))))
    raw = [np.asarray(x) for x in samples]  # per value variable: (chains, draws, ...)
    elapsed = time.perf_counter() - t  # XLA's compile of the chains happens inside the first call: counted here

    names = [rv.name for rv in model.free_RVs]
    exprs = {v.name: v for v in model.unobserved_value_vars}
    constrain = jax.jit(jax.vmap(get_jaxified_graph(inputs=values, outputs=[exprs[n] for n in names])))
    out = constrain(*(x.reshape(chains * draws, *x.shape[2:]) for x in raw))
    posterior = {n: np.asarray(y).reshape(chains, draws, *y.shape[1:]) for n, y in zip(names, out, strict=True)}
    extra = {k: np.asarray(v) for k, v in extra.items()}
    stats = {"diverging": extra["diverging"].astype(bool), "n_steps": extra["num_steps"],
             "tree_depth": np.log2(np.maximum(extra["num_steps"], 1)).astype(int) + 1,
             "acceptance_rate": extra["accept_prob"], "lp": -extra["potential_energy"]}
    dims = {n: [f"{n}_dim_{i}" for i in range(x.ndim - 2)] for n, x in posterior.items()}
    idata = az.from_dict(posterior=posterior, sample_stats=stats, dims=dims)
    idata.posterior.attrs.update(inference_library="numpyro", tuning_steps=tune, sampling_time=elapsed,
                                 warm_start=int(kernel is not None))
    end = Warm(shapes, float(np.mean(np.asarray(steps))), np.asarray(imms)[0],
               tuple(tuple(np.asarray(x[c, -1]) for x in raw) for c in range(chains)))
    return idata, end
