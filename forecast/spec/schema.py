"""Plain, validated data for scenario model files (no PyMC here).

Every entry is a frozen pydantic model with ``extra="forbid"``; cross-references
(ids, cycles, words, locators) are checked in :mod:`forecast.spec.checks`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StringConstraints

# Letters, digits and single underscores: "__" is kept for the names the engine makes (``eta__v``, ``gate__on``),
# so that no user id can be one of them (see forecast.compile.builder, "Names")
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*_?$")]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
# An observed or intervened value: true/false or a number, never a string such as "yes".
Value = StrictBool | StrictFloat


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorSpec(Strict):
    """A prior in the shape ``pymc_extras.prior.Prior.to_dict()`` writes."""

    dist: str
    kwargs: dict[str, float] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"dist": self.dist, "kwargs": dict(self.kwargs)}


# A probability given as an ICD 203 word, a range ("30-60%"), a number, or a prior.
ProbabilityText = str | float | PriorSpec


class ModelInfo(Strict):
    id: Id
    title: str
    description: str = ""
    as_of: dt.date | None = None


class Source(Strict):
    id: Id
    title: str
    publisher: str = ""
    author: str = ""
    date: dt.date | None = None
    reliability: Literal["A", "B", "C", "D", "E", "F"]
    credibility: Annotated[int, Field(ge=1, le=6)]
    # the document's text under ``--sources`` (claims quote it by line range); a source without a local text
    # (a news report) gives ``url`` with its publisher and date instead, and its claims' locators are optional
    file: str | None = None
    url: str = ""
    grade_note: str = ""
    # its key assertions rest on unnamed officials or sources (ICD 203: lowers confidence in what rests on it)
    unnamed_sources: bool = False

    @property
    def grade(self) -> str:
        return f"{self.reliability}{self.credibility}"


class Variable(Strict):
    id: Id
    label: str
    short: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=48)] | None = None
    kind: Literal["event", "index"]
    description: str = ""
    base: ProbabilityText | None = None
    noise: PriorSpec | None = None
    # an event's window: its probability is that of happening from ``start`` (default: the model's ``as_of``) to
    # ``by``; a question dated otherwise is rescaled under a constant hazard (forecast.spec.horizons)
    by: dt.date | None = None
    start: dt.date | None = None


class Claim(Strict):
    id: Id
    cause: Id
    effect: Id
    direction: Literal["raises", "lowers"]
    strength: str | PriorSpec = "moderate"
    credence: float | str | None = None
    source: Id
    locator: str = ""  # a line range in the source's file; optional for a source without a local text
    paraphrase: str


class Evidence(Strict):
    id: Id
    variable: Id
    date: dt.date
    source: Id
    value: Value
    sd: Annotated[float, Field(ge=1e-4, le=1.0)] | None = None  # index levels are in [0, 1]: below 1e-4 is zero
    soft: bool = False
    grade: Annotated[str, StringConstraints(pattern=r"^[A-F][1-6]$")] | None = None
    note: str = ""


class Question(Strict):
    id: Id
    text: str
    # a few words naming the question wherever a chart or table has no room for its text (chosen once, here)
    short: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=48)] | None = None
    variable: Id
    threshold: Probability | None = None
    resolution: str
    resolves_by: dt.date
    importance: Annotated[int, Field(ge=1, le=3)] = 2
    # what happened, once known (the track record): true/false, or for an index question the level observed
    outcome: Value | None = None
    resolved_on: dt.date | None = None
    resolution_note: str = ""
    resolution_source: Id | None = None  # the source documenting the outcome


class Scenario(Strict):
    id: Id
    label: str
    description: str = ""
    do: dict[str, Value] = Field(default_factory=dict)
    observe: dict[str, Value] = Field(default_factory=dict)
    set: dict[str, Any] = Field(default_factory=dict)
    priors: str | None = None


SECTIONS: dict[str, type[Strict]] = {
    "sources": Source,
    "variables": Variable,
    "claims": Claim,
    "evidence": Evidence,
    "questions": Question,
    "scenarios": Scenario,
}


class ScenarioModel(Strict):
    """A whole model file, after every entry validated."""

    path: str
    info: ModelInfo
    sources: tuple[Source, ...] = ()
    variables: tuple[Variable, ...] = ()
    claims: tuple[Claim, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    questions: tuple[Question, ...] = ()
    scenarios: tuple[Scenario, ...] = ()
    # the model as it stood on this date (evidence dated later left out), and why: "--as-of" (asked for) or
    # "model" (the model's own ``as_of``, when evidence recorded since is dated after it); never read from a file
    cutoff: dt.date | None = None
    cutoff_from: Literal["--as-of", "model"] | None = None
    later: int = 0  # how many evidence entries the cutoff left out

    def as_of_date(self, date: dt.date, basis: Literal["--as-of", "model"] = "--as-of") -> ScenarioModel:
        """The model as of ``date``: only the evidence dated on or before it (``forecast run --as-of``)."""
        kept = tuple(e for e in self.evidence if e.date <= date)
        return self.model_copy(update={"evidence": kept, "cutoff": date, "cutoff_from": basis,
                                       "later": len(self.evidence) - len(kept)})

    def speaking_date(self) -> ScenarioModel:
        """The model as a plain run reads it: evidence dated after the model's own ``as_of`` (recorded since, for
        ``--as-of`` and ``forecast history``) is left out; a model without ``as_of`` uses all its evidence."""
        if self.info.as_of and any(e.date > self.info.as_of for e in self.evidence):
            return self.as_of_date(self.info.as_of, "model")
        return self

    def short_title(self, qid: str) -> str:
        """A question (or variable) in a few words, the same in every chart and table: its ``short`` if the model
        gives one, else its variable's label (with the threshold of an index question)."""
        q = next((x for x in self.questions if x.id == qid), None)
        if q is None:
            v = self.variable(qid)
            return v.short or v.label
        if q.short:
            return q.short
        v = self.variable(q.variable)
        label = v.short or v.label
        return label if q.threshold is None else f"{label} above {q.threshold:g}"

    def variable(self, vid: str) -> Variable:
        return next(v for v in self.variables if v.id == vid)

    def source(self, sid: str) -> Source:
        return next(s for s in self.sources if s.id == sid)

    def scenario(self, sid: str) -> Scenario:
        return next(s for s in self.scenarios if s.id == sid)

    @property
    def as_of(self) -> dt.date | None:
        dates = [e.date for e in self.evidence]
        return self.info.as_of or (max(dates) if dates else None)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in SECTIONS}
