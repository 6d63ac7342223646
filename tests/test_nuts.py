"""The NUTS backends (forecast.analyses.nuts) against a conjugate closed form.

p ~ Beta(2, 3), 7 successes in 10 trials observed: the posterior is Beta(9, 6),
mean 0.6, sd 0.1225. Each backend's posterior mean must lie within 4 Monte
Carlo standard errors (ArviZ's ``mcse`` of the mean, from the chains' own
autocorrelation) of 0.6, and its sd within 15% of the exact one.
"""

from __future__ import annotations

import math

import arviz as az
import numpy as np
import pymc as pm
import pytest

from forecast.analyses import nuts
from forecast.analyses.health import health

A, B, N, K = 2.0, 3.0, 10, 7
MEAN = (A + K) / (A + B + N)
SD = math.sqrt(MEAN * (1 - MEAN) / (A + B + N + 1))


def conjugate() -> pm.Model:
    with pm.Model() as m:
        p = pm.Beta("p", A, B)
        pm.Binomial("y", n=N, p=p, observed=K)
    return m


@pytest.mark.parametrize("sampler", ["numpyro", pytest.param("pymc", marks=pytest.mark.slow)])
def test_backend_matches_the_conjugate_posterior(sampler):
    idata, _ = nuts.sample(conjugate(), 500, tune=500, chains=2, seed=3, sampler=sampler)
    x = idata.posterior["p"].values
    assert x.shape == (2, 500)
    assert np.all((x > 0) & (x < 1))  # constrained values, not the log-odds NUTS moves in
    se = float(az.mcse(idata, var_names=["p"])["p"])
    assert abs(x.mean() - MEAN) < 4 * se, f"{sampler}: mean {x.mean():.4f}, exact {MEAN:.4f}, mcse {se:.4f}"
    assert abs(x.std() / SD - 1) < 0.15, f"{sampler}: sd {x.std():.4f}, exact {SD:.4f}"
    h = health(idata, sampler)
    assert h["chains"] == 2 and h["draws"] == 1000 and h["divergences"] == 0  # draws over all chains
    assert h["r_hat_max"] < 1.05


@pytest.mark.slow
def test_numpyro_is_deterministic_and_its_chains_start_apart():
    a, _ = nuts.sample(conjugate(), 50, tune=50, chains=2, seed=11)
    b, _ = nuts.sample(conjugate(), 50, tune=50, chains=2, seed=11)
    c, _ = nuts.sample(conjugate(), 50, tune=50, chains=2, seed=12)
    pa, pb, pc = (x.posterior["p"].values for x in (a, b, c))
    np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(pa, pc)
    assert not np.array_equal(pa[0], pa[1])
    assert a.posterior.attrs["sampling_time"] > 0
    assert set(a.sample_stats) >= {"diverging", "lp", "tree_depth", "acceptance_rate"}


def test_unknown_sampler_is_refused():
    with pytest.raises(ValueError, match="unknown sampler"):
        nuts.sample(conjugate(), 10, tune=10, chains=1, seed=0, sampler="gibbs")


@pytest.mark.slow
def test_numpyro_with_fewer_devices_than_chains(monkeypatch):
    """One CPU device for two chains: they run one after the other inside one XLA program."""
    import jax

    monkeypatch.setattr(jax, "local_device_count", lambda: 1)
    idata, _ = nuts.sample(conjugate(), 500, tune=500, chains=2, seed=5)
    x = idata.posterior["p"].values
    se = float(az.mcse(idata, var_names=["p"])["p"])
    assert x.shape == (2, 500) and not np.array_equal(x[0], x[1])
    assert abs(x.mean() - MEAN) < 4 * se, f"mean {x.mean():.4f}, exact {MEAN:.4f}, mcse {se:.4f}"


@pytest.mark.slow
def test_numpyro_names_a_start_with_no_finite_density():
    from pymc.exceptions import SamplingError

    with pm.Model() as m:
        x = pm.Normal("x")
        pm.Potential("impossible", pm.math.switch(x > 100, 0.0, -np.inf))
    with pytest.raises(SamplingError, match="impossible|Initial evaluation"):
        nuts.sample(m, 10, tune=10, chains=2, seed=0)


def test_a_warm_start_matches_the_closed_form_with_a_shorter_warm_up():
    """A run started from another run's end (``nuts.Warm``: step size, mass matrix, last positions) under other
    priors: p ~ Beta(3, 2), the same 7 in 10, posterior Beta(10, 5), mean 2/3. It tunes ``WARM_TUNE`` steps,
    not ``tune``, and its mean lies within 4 MC standard errors of the exact one; a Warm of other free
    variables is not used."""
    _, end = nuts.sample(conjugate(), 200, tune=500, chains=2, seed=3)
    assert end is not None and len(end.positions) == 2
    with pm.Model() as other:
        p = pm.Beta("p", 3.0, 2.0)
        pm.Binomial("y", n=N, p=p, observed=K)
    idata, _ = nuts.sample(other, 500, tune=1000, chains=2, seed=4, warm=end)
    attrs = idata.posterior.attrs
    assert attrs["warm_start"] == 1 and attrs["tuning_steps"] == nuts.WARM_TUNE
    x = idata.posterior["p"].values
    se = float(az.mcse(idata, var_names=["p"])["p"])
    assert abs(x.mean() - 10 / 15) < 4 * se, f"mean {x.mean():.4f}, exact {10 / 15:.4f}, mcse {se:.4f}"
    with pm.Model() as two:
        pm.Normal("a")
        pm.Normal("b")
    idata, _ = nuts.sample(two, 20, tune=20, chains=2, seed=0, warm=end)
    assert idata.posterior.attrs["warm_start"] == 0
