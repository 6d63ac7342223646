"""The run settings every command and the Python API default to (one place: ``forecast.cli`` and
``forecast.analyses.session`` both read them)."""

DEFAULTS = {"draws": 2000, "seed": 0, "sampler": "numpyro", "chains": 2, "tune": 1000}
