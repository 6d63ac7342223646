"""The sources in words a reader can check: one entry per source (with a citation line), the Admiralty grading
key, and the warning when most claims rest on one source. Plain data read from the model; nothing typeset here.

The grading is the NATO / Admiralty system (STANAG 2511; FM 2-22.3, appendix B): a letter for the source's
reliability, a number for the credibility of what it says, judged apart.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from forecast.spec.schema import ScenarioModel, Source

RELIABILITY = {
    "A": ("completely reliable", "no doubt of its authenticity, trustworthiness or competence; a history of complete "
          "reliability"),
    "B": ("usually reliable", "minor doubt about its authenticity, trustworthiness or competence; a history of mostly "
          "valid information"),
    "C": ("fairly reliable", "doubt about its authenticity, trustworthiness or competence, but it has given valid "
          "information before"),
    "D": ("not usually reliable", "significant doubt about its authenticity, trustworthiness or competence, though "
          "it has given valid information before"),
    "E": ("unreliable", "lacking in authenticity, trustworthiness and competence; a history of invalid information"),
    "F": ("reliability cannot be judged", "no basis for judging the source (new, unknown or unassessed), which is "
          "not the same as unreliable"),
}
CREDIBILITY = {
    1: ("confirmed by other sources", "confirmed by independent sources; logical in itself; consistent with other "
        "information on the subject"),
    2: ("probably true", "not confirmed; logical in itself; consistent with other information on the subject"),
    3: ("possibly true", "not confirmed; reasonably logical in itself; agrees with some other information on the "
        "subject"),
    4: ("doubtful", "not confirmed; possible but not logical; no other information on the subject"),
    5: ("improbable", "not confirmed; not logical in itself; contradicted by other information on the subject"),
    6: ("truth cannot be judged", "no basis for judging the information's validity"),
}
UNNAMED = "its key assertions rest on unnamed officials or sources"
DOMINANT = 0.5  # more than this share of the claims from one source: the brief warns


def grade_words(grade: str) -> str:
    """``"C3"`` -> ``"fairly reliable source; possibly true"``; ValueError for anything but a letter A-F and a
    digit 1-6."""
    g = (grade or "").strip().upper()
    if len(g) != 2 or g[0] not in RELIABILITY or not g[1].isdigit() or int(g[1]) not in CREDIBILITY:
        raise ValueError(f"not an Admiralty grade: {grade!r} (a letter A-F and a digit 1-6, e.g. 'C3')")
    source = "source whose reliability cannot be judged" if g[0] == "F" else f"{RELIABILITY[g[0]][0]} source"
    return f"{source}; {CREDIBILITY[int(g[1])][0]}"


def admiralty_key() -> dict:
    """The two scales in plain words: ``reliability`` (A-F) and ``credibility`` (1-6), each a list of
    ``{"code", "words", "explanation"}``, and ``note`` on how a grade reads."""
    return {
        "note": ("A grade such as C3 pairs how far the source can be trusted (the letter, A-F) with how likely what "
                 "it says is true (the number, 1-6). The two are judged separately: a reliable source can report a "
                 "doubtful claim, and an unknown one (F) can report something confirmed elsewhere (1)."),
        "reliability": [{"code": k, "words": w, "explanation": e} for k, (w, e) in RELIABILITY.items()],
        "credibility": [{"code": str(k), "words": w, "explanation": e} for k, (w, e) in CREDIBILITY.items()],
    }


def _long_date(d: dt.date | None) -> str:
    return f"{d.day} {d:%B %Y}" if d else "undated"


def citation(s: Source) -> str:
    """One line: author, title (in quotes unless it is a description in brackets), publisher, date, url."""
    title = s.title.strip()
    parts = [s.author.strip()] if s.author.strip() else []
    parts.append(title if title.startswith("[") else f"“{title}”")
    if s.publisher.strip():
        parts.append(s.publisher.strip())
    parts.append(_long_date(s.date))
    line = ", ".join(parts)
    return f"{line}. {s.url.strip()}" if s.url.strip() else f"{line}."


def entries(model: ScenarioModel, used: Iterable[str] | None = None) -> list[dict]:
    """One entry per source (only those in ``used`` when given; model order), every field a display string except
    ``unnamed_sources`` (bool), ``claims`` and ``evidence`` (how many the model takes from it). ValueError for an
    id in ``used`` the model does not have."""
    ids = [s.id for s in model.sources]
    keep = set(ids) if used is None else set(used)
    unknown = sorted(keep - set(ids))
    if unknown:
        raise ValueError(f"no such source in model '{model.info.id}': {', '.join(unknown)}")
    claims = Counter(c.source for c in model.claims)
    evidence = Counter(e.source for e in model.evidence)
    out = []
    for s in model.sources:
        if s.id not in keep:
            continue
        out.append({
            "id": s.id, "title": s.title, "publisher": s.publisher, "author": s.author,
            "date": s.date.isoformat() if s.date else "undated", "date_long": _long_date(s.date),
            "url": s.url, "file": s.file or "",
            "grade": s.grade, "grade_words": grade_words(s.grade),
            "reliability": RELIABILITY[s.reliability][0], "credibility": CREDIBILITY[s.credibility][0],
            "grade_note": s.grade_note,
            "unnamed_sources": s.unnamed_sources, "unnamed_words": UNNAMED if s.unnamed_sources else "",
            "claims": claims[s.id], "evidence": evidence[s.id],
            "citation": citation(s),
        })
    return out


def dominant_source(model: ScenarioModel, claim_ids: Iterable[str] | None = None) -> dict | None:
    """The source more than half of the claims (those in ``claim_ids`` when given) come from, or None:
    ``id``, ``title``, ``claims``, ``total``, ``share``, ``grade``, ``grade_words`` and ``warning`` (a sentence).
    ValueError for a claim id the model does not have."""
    by_id = {c.id: c for c in model.claims}
    wanted = list(by_id) if claim_ids is None else list(dict.fromkeys(claim_ids))
    unknown = [c for c in wanted if c not in by_id]
    if unknown:
        raise ValueError(f"no such claim in model '{model.info.id}': {', '.join(unknown)}")
    counts = Counter(by_id[c].source for c in wanted)
    if not counts:
        return None
    sid, n = counts.most_common(1)[0]
    total = len(wanted)
    if n / total <= DOMINANT:
        return None
    s = model.source(sid)
    words = grade_words(s.grade)
    return {"id": sid, "title": s.title, "claims": n, "total": total, "share": n / total, "grade": s.grade,
            "grade_words": words,
            "warning": (f"Most claims ({n} of {total}) come from one source, {s.title} ({s.grade}: {words}); "
                        "the judgments rest largely on it.")}
