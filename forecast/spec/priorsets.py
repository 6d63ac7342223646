"""Prior sets: how strongly we believe the claims.

A prior set is a TOML file that extends the package defaults
(``default_priors.toml``) or another prior set. Precedence, highest first:
``--set KEY=VALUE`` > the chosen prior set (and what it extends) > the model
file > the package defaults.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from forecast.spec.errors import Problem, SpecError
from forecast.spec.load import find_file, read_toml, validate_entry
from forecast.spec.schema import PriorSpec, Probability, ProbabilityText, Strict

DEFAULT_PATH = Path(__file__).with_name("default_priors.toml")
Grade = Literal["A", "B", "C", "D", "E", "F"]


class PriorSetInfo(Strict):
    name: str = ""
    description: str = ""
    extends: str | None = None


class BaseRate(Strict):
    mass: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.8
    default: ProbabilityText = "roughly even chance"


class IndexSettings(Strict):
    noise: PriorSpec


class CredenceSettings(Strict):
    reliability: dict[Grade, Probability]
    credibility: dict[Literal["1", "2", "3", "4", "5", "6"], Probability]
    soft_floor: Probability = 0.5


class Simulation(Strict):
    replicates: Annotated[int, Field(ge=1, le=4096)] = 32
    interval: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.8


class ClaimOverride(Strict):
    credence: float | str | None = None
    strength: str | PriorSpec | None = None
    scale: Annotated[float, Field(ge=0.0)] | None = None


class VariableOverride(Strict):
    base: ProbabilityText | None = None
    noise: PriorSpec | None = None


class PriorSet(Strict):
    """A merged, validated prior set."""

    prior_set: PriorSetInfo = PriorSetInfo()
    probability_words: dict[str, tuple[Probability, Probability]]
    base_rate: BaseRate = BaseRate()
    strength: dict[str, PriorSpec]
    index: IndexSettings
    credence: CredenceSettings
    simulation: Simulation = Simulation()
    claims: dict[str, ClaimOverride] = Field(default_factory=dict)
    variables: dict[str, VariableOverride] = Field(default_factory=dict)
    files: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()  # the --set keys applied

    @field_validator("probability_words")
    @classmethod
    def _bands_run_upward(cls, words: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for word, (lo, hi) in words.items():
            if not lo < hi:
                raise ValueError(f"the band of {word!r} runs from {lo:g} to {hi:g}: low must be below high")
        return words

    def origin(self, section: str, key: str) -> str:
        """The file (or ``--set``) an override ``section.key`` came from, for messages."""
        if any(k.split(".")[:2] == [section, key] for k in self.overrides):
            return "--set"
        return self.files[-1] if self.files else "prior set"

    def word_for(self, p: float) -> str:
        """The ICD 203 word whose band holds ``p`` (nearest band outside them)."""
        bands = sorted(self.probability_words.items(), key=lambda kv: kv[1][0])
        for word, (lo, hi) in bands:
            if lo <= p <= hi:
                return word
        return min(bands, key=lambda kv: min(abs(p - kv[1][0]), abs(p - kv[1][1])))[0]


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "kwargs":
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_value(text: str) -> Any:
    """Read a ``--set`` value as a TOML value (``0.3``, ``true``, ``"x"``), else as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text.strip()


def apply_sets(data: dict[str, Any], sets: dict[str, Any], origin: str = "--set") -> tuple[dict, list[Problem]]:
    """Write dotted ``KEY=VALUE`` overrides into a prior-set dict."""
    out, problems = copy.deepcopy(data), []
    for key, value in sets.items():
        parts = key.split(".")
        if len(parts) < 2 or any(not p for p in parts):
            problems.append(Problem(origin, key, "expected a dotted key such as claims.c1.credence"))
            continue
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                problems.append(Problem(origin, key, f"'{part}' is not a table"))
                break
        else:
            node[parts[-1]] = parse_value(value) if isinstance(value, str) else value
    return out, problems


def _chain(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """Read a prior set and everything it extends, lowest precedence first."""
    data, problems = read_toml(path)
    if data is None:
        return {}, [], problems
    if path != DEFAULT_PATH and not isinstance(data.get("prior_set"), dict):
        # not a prior set (a config file named by mistake, or on purpose): say so without echoing its values
        return {}, [], [Problem(str(path), "prior set", "not a prior set: it has no [prior_set] table (a prior set "
                                                        "starts with [prior_set] and its name)")]
    parent_name = data.get("prior_set", {}).get("extends", "default") if path != DEFAULT_PATH else None
    if parent_name is None:
        return data, [str(path)], problems
    parent = DEFAULT_PATH if parent_name == "default" else find_file(path.parent / parent_name, "priors")
    if not parent.is_file():
        return data, [str(path)], [Problem(str(path), "prior_set.extends", f"'{parent_name}' not found "
                                           f"(give \"default\" or a prior set relative to this file)")]
    if parent.resolve() in seen:
        return data, [str(path)], [Problem(str(path), "prior_set.extends", f"extends itself through {parent}")]
    base, files, probs = _chain(parent, (*seen, path.resolve()))
    merged = deep_merge(base, data)
    merged.setdefault("prior_set", {})["extends"] = parent_name
    return merged, [*files, str(path)], problems + probs


def load_prior_set(path: str | Path | None = None, sets: dict[str, Any] | None = None) -> PriorSet:
    """Load a prior set (the package default when ``path`` is None) and apply ``--set`` overrides."""
    target = DEFAULT_PATH if path is None else find_file(path, "priors")
    data, files, problems = _chain(Path(target))
    merged, probs = apply_sets(data, sets or {})
    problems += probs
    if problems:
        raise SpecError(problems)
    file = files[-1] if files else str(target)
    merged.update(files=tuple(files), overrides=tuple(sets or {}))
    item, problems = validate_entry(PriorSet, merged, file, "prior set")
    if problems and sets:  # what the file alone does not cause is the --set's fault
        _, own = validate_entry(PriorSet, {**data, "files": tuple(files)}, file, "prior set")
        problems = own + [Problem("--set", p.entry, p.message) for p in problems if p not in own]
    if problems:
        raise SpecError(problems)
    return item
