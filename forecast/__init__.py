"""forecast: scenario forecasting and influence modelling with Bayesian causal models.

The Python API mirrors the command line::

    import forecast
    report = forecast.check("models/hanoi_2019.toml", sources="../shared/seeds")
    result = forecast.run("models/hanoi_2019.toml", seed=1)
    diff = forecast.whatif("models/hanoi_2019.toml", scenario="summit_succeeded")

Heavy libraries (PyMC) load on first use, so importing this package is cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = {"check", "run", "whatif", "history", "load_result", "Session"}


def __getattr__(name: str):
    if name in _API:
        from forecast import api

        return getattr(api, name)
    raise AttributeError(name)
