"""The shipped table of band fits (forecast/spec/maxent_beta.json): checked by the maxent properties.

PreliZ's ``maxent`` runs an SLSQP optimiser that pins alpha and beta only to
about 1e-4 relative, and the digits it lands on differ between CPUs, so the
shipped numbers are not compared with a refit digit for digit. What a maxent
fit guarantees, and what is checked here, is that for each band [lo, hi] with
mass m the fitted Beta

* puts mass m inside [lo, hi] (``scipy.stats.beta.cdf``, to ``MASS_TOL``), and
* has an entropy (``scipy.stats.beta.entropy``) no lower than that of a fresh
  PreliZ maxent fit on this machine, less ``ENTROPY_TOL``.

The same check is run on a copy of the table perturbed as another machine's
fit would be (it must pass) and on copies with a broken fit (it must fail).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import optimize, stats

from forecast.spec import fit

ICD_MASS = 0.8
MASS_TOL = 1e-3
ENTROPY_TOL = 1e-3


def band(key: str) -> tuple[float, float, float]:
    lo, hi, mass = (float(x) for x in key.split(":"))
    return lo, hi, mass


def maxent_violations(table: dict[str, list[float]], reference_entropy: dict[str, float]) -> list[str]:
    """The entries of ``table`` ("lo:hi:mass" -> [alpha, beta]) that are not maxent fits of their band.

    ``reference_entropy`` holds, per key, the entropy of a fresh PreliZ maxent fit.
    """
    bad = []
    for key, (a, b) in table.items():
        lo, hi, mass = band(key)
        got = stats.beta.cdf(hi, a, b) - stats.beta.cdf(lo, a, b)
        if not abs(got - mass) <= MASS_TOL:
            bad.append(f"{key}: mass {got:.6f} inside the band, not {mass}")
        h = stats.beta.entropy(a, b)
        if not h >= reference_entropy[key] - ENTROPY_TOL:
            bad.append(f"{key}: entropy {h:.6f} below the maxent fit's {reference_entropy[key]:.6f}")
    return bad


@pytest.fixture(scope="module")
def shipped() -> dict[str, list[float]]:
    table = json.loads(fit.TABLE.read_text())
    assert len(table) >= 10
    return table


@pytest.fixture(scope="module")
def reference_entropy(shipped) -> dict[str, float]:
    """Entropy of a fresh PreliZ maxent fit of every shipped band (all 14 take a few seconds)."""
    return {key: float(stats.beta.entropy(*fit.fit_beta(*band(key)))) for key in shipped}


def test_the_shipped_fits_are_maxent_fits(shipped, reference_entropy):
    assert maxent_violations(shipped, reference_entropy) == []


def test_another_machines_fits_pass_and_broken_fits_fail(shipped, reference_entropy):
    # another CPU: every alpha and beta off by 1e-4 relative (SLSQP's tolerance), alternating in sign
    rng = np.random.default_rng(0)
    moved = {k: [x * (1 + 1e-4 * s) for x, s in zip(ab, rng.choice((-1, 1), 2))] for k, ab in shipped.items()}
    assert all(not np.allclose(moved[k], shipped[k], rtol=1e-5, atol=0) for k in shipped)
    assert maxent_violations(moved, reference_entropy) == []

    # a wrong mass: alpha * 1.5 moves the mass inside the band by far more than MASS_TOL
    key = "0.300000:0.500000:0.800000"
    a, b = shipped[key]
    broken = {**shipped, key: [1.5 * a, b]}
    bad = maxent_violations(broken, reference_entropy)
    assert len(bad) >= 1 and all(v.startswith(key) for v in bad), bad
    assert any("mass" in v for v in bad), bad

    # the right mass but not maximal entropy: a Beta with its mean moved off the band's centre,
    # its concentration solved so that it still puts the mass inside the band
    lo, hi, mass = band(key)
    mu = lo + 0.6 * (hi - lo)
    inside = lambda k: stats.beta.cdf(hi, mu * k, (1 - mu) * k) - stats.beta.cdf(lo, mu * k, (1 - mu) * k) - mass  # noqa: E731
    k = optimize.brentq(inside, 2.0, 1e4)
    narrow = {**shipped, key: [mu * k, (1 - mu) * k]}
    bad = maxent_violations(narrow, reference_entropy)
    assert len(bad) == 1 and "entropy" in bad[0] and bad[0].startswith(key), bad


def test_the_table_covers_the_icd_words_and_every_band_of_the_shipped_models(tmp_path, monkeypatch):
    from forecast.analyses.session import Session, scenario_resolved
    from forecast.compile import Numbers

    monkeypatch.setenv("FORECAST_CACHE", str(tmp_path))  # an empty user cache: only the table can answer
    asked = []
    monkeypatch.setattr(fit, "fit_beta", lambda *a: asked.append(a) or pytest.fail(f"band {a} not in the table"))
    keys = set(json.loads(fit.TABLE.read_text()))
    s = Session("models/hanoi_2019.toml", draws=10)
    for lo, hi in s.baseline.priors.probability_words.values():
        assert fit._key(lo, hi, ICD_MASS) in keys, (lo, hi)
    for p in sorted(s.model_path.parent.parent.glob("priors/hanoi_2019/*.toml")):
        Numbers.of(s.resolve(priors=str(p)))
    for sc in s.model.scenarios:
        Numbers.of(scenario_resolved(s, sc.id)[0])
    assert not asked


def test_a_band_outside_the_table_is_fitted_and_cached(tmp_path, monkeypatch):
    """A new band is fitted once (its mass lands in the band), written to the user cache, then read back."""
    monkeypatch.setenv("FORECAST_CACHE", str(tmp_path))
    lo, hi, mass = 0.33, 0.61, 0.8
    key = fit._key(lo, hi, mass)
    assert key not in json.loads(fit.TABLE.read_text())
    out = fit.fit_bands([{"band": [lo, hi], "mass": mass}])
    a, b = out[0]["kwargs"]["alpha"], out[0]["kwargs"]["beta"]
    assert out[0]["dist"] == "Beta"
    assert stats.beta.cdf(hi, a, b) - stats.beta.cdf(lo, a, b) == pytest.approx(mass, abs=MASS_TOL)
    assert json.loads((tmp_path / "maxent_beta.json").read_text())[key] == [a, b]

    monkeypatch.setattr(fit, "fit_beta", lambda *x: pytest.fail(f"band {x} refitted, not read from the cache"))
    again = fit.fit_bands([{"band": [lo, hi], "mass": mass}])
    assert again[0]["kwargs"] == {"alpha": a, "beta": b}
