"""Where a prior set named on the command line, in a scenario or in the report lives: one rule for every command.

* nothing given: the model's own baseline, ``priors/<model id>/baseline.toml``
  beside the model file (in its folder or one of the two folders above it), else the package defaults;
* ``"default"``: the package defaults;
* a bare name (no folder, no ``.toml``): ``priors/<model id>/<name>.toml`` in those same places;
* anything else is a path: relative to the current folder on the command line,
  to the model's folder in a model file (``relative_to``).

A miss names every place looked.
"""

from __future__ import annotations

from pathlib import Path

from forecast.spec.errors import Problem, SpecError


def prior_folders(model_path: str | Path, model_id: str) -> list[Path]:
    """The places a model's prior sets may live, nearest first."""
    here = Path(model_path).resolve().parent
    return [d / "priors" / model_id for d in (here, here.parent, here.parent.parent)]


def model_prior_folder(model_path: str | Path, model_id: str) -> Path | None:
    """The first of :func:`prior_folders` that exists, or None."""
    return next((f for f in prior_folders(model_path, model_id) if f.is_dir()), None)


def is_bare(name: str) -> bool:
    return "/" not in name and "\\" not in name and not name.endswith(".toml")


def prior_set_path(name: str | Path | None, model_path: str | Path, model_id: str, *,
                   relative_to: str | Path | None = None, origin: str = "--priors") -> Path | None:
    """The prior-set file ``name`` means for this model (None: the package defaults); SpecError on a miss."""
    if name is None:
        folder = model_prior_folder(model_path, model_id)
        base = folder / "baseline.toml" if folder else None
        return base if base is not None and base.is_file() else None
    name = str(name)
    if name == "default":
        return None
    if is_bare(name):
        looked = [f / f"{name}.toml" for f in prior_folders(model_path, model_id)]
    else:
        p = Path(name)
        looked = [p if p.is_absolute() or relative_to is None else Path(relative_to) / p]
        if relative_to is not None and not _contained(looked[0], model_path, model_id):
            raise SpecError([Problem(origin, name, (
                "a prior set named in a model file must lie in the model's folder or in priors/<model id>/ "
                "beside it (no absolute path, no '..' out of them)"))])
    for cand in looked:
        if cand.is_file():
            return cand
    where = ", ".join(str(c) for c in looked)
    return _miss(origin, name, where)


def _contained(path: Path, model_path: str | Path, model_id: str) -> bool:
    """``path`` lies in the model's folder or in one of its prior folders (links followed)."""
    roots = [Path(model_path).resolve().parent, *(f.resolve() for f in prior_folders(model_path, model_id))]
    p = path.resolve()
    return any(p.is_relative_to(r) for r in roots)


def _miss(origin: str, name: str, where: str):
    raise SpecError([Problem(origin, name, f"no such prior set (looked for {where}; give \"default\" for the "
                                           "package defaults)")])


def prior_sets_of(model_path: str | Path, model_id: str) -> list[Path | None]:
    """Every prior set of the model, its baseline first (``[None]``: the package defaults only)."""
    folder = model_prior_folder(model_path, model_id)
    if folder is None:
        return [None]
    files = sorted(folder.glob("*.toml"))
    base = [f for f in files if f.stem == "baseline"]
    return [*base, *(f for f in files if f.stem != "baseline")] or [None]


__all__ = ["model_prior_folder", "prior_folders", "prior_set_path", "prior_sets_of"]
