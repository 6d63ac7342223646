"""``forecast check``: every problem in a model, its prior set and its sources, at once.

Lives beside the spec layer (it imports no PyMC) so the command starts fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from forecast.spec.checks import check_model
from forecast.spec.errors import Problem, SpecError
from forecast.spec.load import find_file, parse_partial
from forecast.spec.priorsets import load_prior_set
from forecast.spec.resolve import resolve


@dataclass
class CheckReport:
    ok: bool
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "errors": self.errors, "counts": self.counts}


def check(model: str | Path, priors: str | Path | None = None, sources: str | Path | None = None,
          sets: dict[str, str] | None = None) -> CheckReport:
    """Validate a model file against a prior set and (optionally) its sources folder."""
    path = find_file(model, "models")
    parsed, problems, broken = parse_partial(path)
    try:
        prior_set = load_prior_set(priors, sets)
    except SpecError as err:
        problems += err.problems
        prior_set = None
    if sources is not None and not Path(sources).is_dir():
        problems.append(Problem(str(sources), "--sources", "not a folder"))
        sources = None
    if parsed is not None:
        if prior_set is None:
            problems += check_model(parsed, sources, broken)
        else:
            try:
                resolve(parsed, prior_set, sources_dir=sources, broken=broken)
            except SpecError as err:
                problems += err.problems
            else:
                problems += _scenario_limits(parsed, prior_set)
    counts = parsed.counts() if parsed is not None else {}
    errors = list(dict.fromkeys(str(p) for p in problems))
    return CheckReport(not errors, errors, counts)


def _scenario_limits(parsed, prior_set) -> list[Problem]:
    """The exact engine's limits (forecast.spec.limits) under each scenario's further observations:
    ``forecast run --scenario`` / ``whatif`` resolve them the same way."""
    out = []
    for sc in parsed.scenarios:
        if not sc.observe or sc.priors or sc.set:  # another prior set: resolved (and checked) when run
            continue
        try:
            resolve(parsed, prior_set, observe=dict(sc.observe))
        except SpecError as err:
            out += [Problem(p.file, f"scenarios.{sc.id}", f"with its observations, {p.entry}: {p.message}")
                    for p in err.problems]
    return out
