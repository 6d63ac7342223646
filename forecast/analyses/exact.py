"""Exact posterior of the latent events given each parameter draw.

The sampler draws gates, effect sizes and base rates (the parameters) together
with the unobserved events of the evidence's ancestral set. Reporting those
events' sampled 0/1 values would mix world-to-world noise into "how unsure the
claims make us". Instead, for every posterior draw we enumerate the joint
states of the k latent events (2**k configurations) and weigh each by the
observed model's log-probability, vectorised over draws and configurations in
one compiled call. This gives P(latent events | parameters, evidence) exactly,
per draw: the reported probability of each latent event, and the distribution
from which the simulator draws their states in every world.
"""

from __future__ import annotations

import itertools

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.model.transform.conditioning import remove_value_transforms
from pytensor.graph.replace import vectorize_graph

MAX_LATENT = 12  # 4096 configurations per draw


def latent_event_posterior(
    observed: pm.Model, draws: dict[str, np.ndarray], latent: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Configurations (2**k, k) of the latent events and their probabilities per draw (T, 2**k).

    ``draws`` holds every free variable of ``observed`` (natural scale), each (T,).
    """
    if len(latent) > MAX_LATENT:
        raise ValueError(f"{len(latent)} latent events in the evidence's ancestry; at most {MAX_LATENT} supported")
    m = remove_value_transforms(observed)
    values = {rv.name: m.rvs_to_values[rv] for rv in m.free_RVs}
    batched = {n: pt.vector(n, dtype=v.dtype) for n, v in values.items()}
    logp = vectorize_graph(m.logp(), replace={values[n]: batched[n] for n in values})
    fn = pytensor.function(list(batched.values()), logp, on_unused_input="ignore")
    configs = np.array(list(itertools.product([0, 1], repeat=len(latent))), dtype=np.int64).reshape(-1, len(latent))
    n_conf = len(configs)
    T = len(next(iter(draws.values())))
    inputs = []
    for name in batched:
        if name in latent:
            col = configs[:, latent.index(name)]
            inputs.append(np.tile(col, T).astype(batched[name].dtype))
        else:
            inputs.append(np.repeat(np.asarray(draws[name]), n_conf).astype(batched[name].dtype))
    lp = np.asarray(fn(*inputs)).reshape(T, n_conf)
    lp -= lp.max(axis=1, keepdims=True)
    p = np.exp(lp)
    return configs, p / p.sum(axis=1, keepdims=True)


def sample_configs(probs: np.ndarray, reps: int, seed: int) -> np.ndarray:
    """Indices (T, reps) of configurations drawn from each row of ``probs``."""
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(probs, axis=1)
    u = rng.random((probs.shape[0], reps))
    idx = (u[:, :, None] > cdf[:, None, :]).sum(axis=2)
    return np.minimum(idx, probs.shape[1] - 1)
