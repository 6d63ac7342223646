"""The confidence sentence: an :class:`~forecast.analyses.confidence.Assessment` in plain words, with its reason.

ICD 203 keeps likelihood and confidence apart, so this sentence carries no likelihood word (nothing such as
"likely", "chance" or "certain") and no sampler jargon: it names the level, then what set it (the binding
factors), or for high confidence what supports it. Sources are named by their id in parentheses with their
grade ("one source (ispsw, graded C3)"). The rule itself is :func:`forecast.analyses.confidence.assess`;
nothing here decides a level.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from forecast.analyses.confidence import Assessment, Factor
from forecast.analyses.summary import percent

NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
WELL = "graded A or B with credibility 1–3"
PULL = "of how far the claims move it"


def number(n: int) -> str:
    return NUMBERS[n] if 0 <= n < len(NUMBERS) else str(n)


def join(parts: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def origin(o: dict) -> str:
    """One origin: "one source (ispsw, graded C3)" or "two documents from one publisher, X (a, graded B2; …)"."""
    srcs = [f"{s['id']}, graded {s['grade']}" for s in o["sources"]]
    if len(srcs) == 1:
        return f"one source ({srcs[0]})"
    return f"{number(len(srcs))} documents from one publisher, {o['publisher']} ({'; '.join(srcs)})"


def hidden(o: dict) -> str:
    """" that cites unnamed officials" when most of the origin rests on them."""
    if not o["unnamed"]:
        return ""
    return " that cites unnamed officials" if len(o["sources"]) == 1 else " that mostly cite unnamed officials"


def corroboration(d: dict, level: str) -> str:
    if d["independent"] == 1:
        o = d["origin"]
        alone = ", with no independent source to corroborate it" if level == "moderate" else ""
        return f"it rests on {origin(o)}{hidden(o)}{alone}"
    n, k = d["independent"], d["well_graded"]
    of = "none of them" if k == 0 else "all of them" if k == n else f"{number(k)} of them"
    return f"{number(n)} independent sources bear on it, {of} {WELL}"


def dependence(d: dict, level: str) -> str:
    o = d["origin"]
    part = (f"{d['claims']} of its {d['of']} claims" if d["by"] == "claims"
            else f"{percent(d['share'])}% {PULL}")
    return f"{origin(o)}{hidden(o)} carries {part}"


def unnamed(d: dict, level: str) -> str:
    if d["by"] == "claims":
        return f"{d['claims']} of its {d['of']} claims come from sources citing unnamed officials"
    return f"sources citing unnamed officials carry {percent(d['share'])}% {PULL}"


def quality(d: dict, level: str) -> str:
    n = d["sources"]
    lead = ("its one source is not" if n == 1 else "neither of its two sources is" if n == 2
            else f"none of its {number(n)} sources is")
    return f"{lead} {WELL}"


def stances(d: dict, level: str) -> str:
    spread = d["spread"]
    if level == "high":
        return f"the stances agree within {spread} points" if spread else "the stances agree"
    if d["differ"] and level == "moderate" and spread < 10:
        return f"the stances word it differently, {spread} points apart"
    return f"the stances disagree by {spread} points"


def width(d: dict, level: str, level_pct: int) -> str:
    return f"its {level_pct}% interval spans {d['points']} points"


PHRASES: dict[str, Callable[[dict, str], str]] = {
    "base_rate": lambda d, level: "no source bears on it, so it rests on the base rate alone",
    "corroboration": corroboration,
    "dependence": dependence,
    "unnamed": unnamed,
    "quality": quality,
    "stances": stances,
    "sampler": lambda d, level: "the computation behind it failed its checks",
}


def phrase(f: Factor, level_pct: int) -> str:
    if f.code == "width":
        return width(f.data, f.level, level_pct)
    return PHRASES[f.code](f.data, f.level)


def sentence(a: Assessment, level_pct: int = 80) -> str:
    """The confidence sentence: "Low confidence: it rests on one source (ispsw, graded C3) that cites unnamed
    officials and the stances disagree by 25 points." High confidence names what supports it (the independent
    sources, the stances' agreement, the interval); a lower level names the factors that set it."""
    if a.level == "high":
        shown = [f for f in a.factors if f.code in {"corroboration", "stances", "width"}]
    else:
        shown = list(a.binding)
    return f"{a.level.capitalize()} confidence: {join([phrase(f, level_pct) for f in shown])}."


__all__ = ["sentence"]
