"""The shipped table of band fits (forecast/spec/maxent_beta.json) against PreliZ itself."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forecast.spec import fit

ICD_MASS = 0.8


def test_the_shipped_fits_are_preliz_fits():
    table = json.loads(fit.TABLE.read_text())
    assert table
    for key, (a, b) in table.items():
        lo, hi, mass = (float(x) for x in key.split(":"))
        want = fit.fit_beta(lo, hi, mass)
        np.testing.assert_allclose((a, b), want, rtol=1e-5, err_msg=key)


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
    monkeypatch.setenv("FORECAST_CACHE", str(tmp_path))
    out = fit.fit_bands([{"band": [0.33, 0.61], "mass": 0.8}])
    a, b = out[0]["kwargs"]["alpha"], out[0]["kwargs"]["beta"]
    np.testing.assert_allclose((a, b), fit.fit_beta(0.33, 0.61, 0.8), rtol=1e-9)
    assert fit._key(0.33, 0.61, 0.8) in json.loads((tmp_path / "maxent_beta.json").read_text())
