"""What a result records about how it was made: file hashes and package versions (the manifest's parts)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from forecast.spec.priorsets import DEFAULT_PATH

if TYPE_CHECKING:
    from forecast.analyses.session import Session
    from forecast.spec.resolve import Resolved

PACKAGES = ("forecast", "pymc", "pytensor", "pymc-extras", "arviz", "numpy", "preliz", "jax", "numpyro", "nutpie")


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    out = []
    for name in PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            pass
    return tuple(out)


def versions() -> dict[str, str]:
    """Versions of the packages a result depends on (read once per process: the manifest of every run)."""
    return dict(_versions())


def manifest(session: Session, r: Resolved, do: dict[str, float]) -> dict:
    """What made a result of ``session``: model and prior files with their hashes, every setting, versions."""
    last = r.priors.files[-1] if r.priors.files else None
    return {
        "model": str(session.model_path),
        "model_sha256": sha256(session.model_path),
        "prior_files": {f: sha256(f) for f in r.priors.files},
        "priors": session.prior_set_name(None if last is None or Path(last) == DEFAULT_PATH else last),
        "sets": dict(session.sets),
        "observe": {o.variable: o.value for o in r.evidence if o.id.startswith("observe_")},
        "do": do,
        "as_of": session.model.cutoff.isoformat() if session.model.cutoff else None,  # evidence dated later left out
        "seed": session.seed,
        "draws": session.draws,
        "sampler": session.sampler,
        "versions": versions(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
