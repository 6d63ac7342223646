"""The command line as Python functions, for notebooks: the same arguments, plain-data results."""

from __future__ import annotations

from pathlib import Path

from forecast.analyses.session import Session
from forecast.analyses.store import load as load_result
from forecast.analyses.store import save
from forecast.analyses.summary import compare, summarize
from forecast.check import check


def run(model: str | Path, priors: str | Path | None = None, *, sets: dict | None = None,
        observe: dict | None = None, do: dict | None = None, sources: str | Path | None = None,
        draws: int = 2000, seed: int = 0, sampler: str = "pymc", out: str | Path | None = None) -> dict:
    """``forecast run``: the ``--json`` document (variables, questions, claims, diagnostics, manifest)."""
    s = Session(model, priors, sets, sources, draws=draws, seed=seed, sampler=sampler)
    result = s.run(s.resolve(observe=observe) if observe else s.baseline, do=do)
    summary = summarize(result)
    if out:
        save(result, out, summary)
    return summary


def whatif(model: str | Path, priors: str | Path | None = None, *, scenario: str | None = None,
           do: dict | None = None, sets: dict | None = None, alt_priors: str | Path | None = None,
           observe: dict | None = None, sources: str | Path | None = None, draws: int = 2000, seed: int = 0,
           sampler: str = "pymc") -> dict:
    """``forecast whatif``: baseline beside the what-if, paired-draw differences sorted by size."""
    s = Session(model, priors, None, sources, draws=draws, seed=seed, sampler=sampler)
    base = s.run()
    r, sdo, label = s.whatif_resolved(scenario, sets, alt_priors, observe)
    return compare(base, s.variant(base, r, {**sdo, **(do or {})}), label)


__all__ = ["Session", "check", "load_result", "run", "whatif"]
