"""Sentences of the brief: key judgments in ICD 203 language, confidence in its own sentence.

ICD 203 keeps likelihood and confidence apart: a judgment sentence carries one
likelihood word (from the prior set's ``[probability_words]``, chosen in the
analyses from the rounded percentage printed beside it) and no confidence
word; the confidence sentence (:mod:`forecast.report.confidence_text`) carries
no likelihood word.
"""

from __future__ import annotations

import re

from forecast.analyses.summary import pct, pts  # the one rounding rule (also the CLI's and the JSON's)

# Bare verbs that open the predicate of a "Will <subject> <verb> …?" question.
VERBS = frozenset("""
abandon accept agree allow announce ask attack attend back be become break call cancel carry cease collapse
come conclude continue create cut decide declare deploy drop end enter exceed expand face fail fall form get
give go grow hold host impose increase invade join keep launch lead leave lift lose make meet move offer open
pass pay raise reach reduce reject remain remove renew reopen restart resume return rise say see sell sign
stage start stay step stop suspend take test travel turn visit vote walk win withdraw
""".split())
ADVERBS = frozenset("again also actually ever finally formally still not never soon".split())
NOT_AFTER = frozenset("a an the any its their his her our this that these those".split())


def clause(question: str) -> str | None:
    """``"Will the US sign a deal by 2020?"`` → ``"the US will sign a deal by 2020"``; ``None`` if unsure."""
    q = question.strip()
    m = re.match(r"^Will\s+(.+?)\?*$", q)
    if not m:
        return None
    words = m.group(1).split()
    for i in range(1, len(words)):
        w, prev = words[i].lower().strip(",;"), words[i - 1].lower()
        if prev in NOT_AFTER or prev.endswith(("'s", "’s")):
            continue
        if w in VERBS or w in ADVERBS or (w.endswith("ly") and w not in {"italy", "early", "only", "family"}):
            return " ".join(words[:i] + ["will"] + words[i:])
    return None


def likelihood_phrase(word: str) -> str:
    """Grammar for any band name: "It is likely", "There is a roughly even chance", "There is almost no chance"."""
    if "chance" in word.split():
        lead = word.split()[0]
        return f"There is {word}" if lead in {"no", "almost", "little"} else f"There is a {word}"
    return f"It is {word}"


def judgment(j: dict, level: float) -> str:
    """One sentence: likelihood word, probability and interval in parentheses, the question as a clause."""
    lvl = f"{round(100 * level)}%"
    nums = f"({pct(j['mean'])}; {lvl} interval {round(100 * j['lo'])}–{pct(j['hi'])})"
    body = clause(j["text"])
    if body is None:
        return f"{likelihood_phrase(j['word'])} {nums} that the answer to “{j['text']}” is yes."
    return f"{likelihood_phrase(j['word'])} {nums} that {body}."


__all__ = ["clause", "judgment", "likelihood_phrase", "pct", "pts"]


# --- the decision product's sentences (issue 16) ---------------------------------------------------------------

def sentence_case(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def headline(j: dict) -> str:
    """The brief's title: its lead judgment as a statement, with its word and number."""
    body = clause(j["text"])
    lead = sentence_case(body) if body else j["short"]
    return f"{lead}: {j['word']} ({pct(j['mean'])})"


def lower_first(s: str, common: frozenset[str] = frozenset({"a", "an", "the"})) -> str:
    """A label or scenario name inside a sentence: its first letter lowered when its first word is a common word
    (``common``: the words the model's own prose writes in lower case), kept for a name ("Kim", "Seoul", "ISPSW's")."""
    first = s.split(" ", 1)[0]
    return s[:1].lower() + s[1:] if first.lower() in common and not first[1:2].isupper() else s


ARTICLES: frozenset[str] = frozenset({"a", "an", "the"})


def claim_phrase(d: dict, common: frozenset[str] = ARTICLES) -> str:
    """"<cause> raises <effect>" with the model's own labels (a name opening a label keeps its capital)."""
    verb = "raises" if d.get("direction") == "raises" else "lowers"
    return f"{lower_first(d['cause'], common)} {verb} {lower_first(d['effect'], common)}"


def driver_phrase(d: dict, common: frozenset[str] = ARTICLES) -> str:
    """One driver in plain words: a claim with its id, source and grade, or a base rate."""
    if d["kind"] == "claim":
        return f"the claim that {claim_phrase(d, common)} ({d['id']}; {d['source']}, graded {d['grade']})"
    return f"the base rate of {lower_first(d['label'].rsplit(' (', 1)[0], common)} (how common it is without any claim)"


def because(j: dict, common: frozenset[str] = ARTICLES) -> str:
    """The "because" sentence of a key judgment: its two or three main drivers."""
    ds = j.get("drivers") or []
    if not ds:
        return "Because: no claim bears on it; it rests on how common such an outcome is (its base rate)."
    parts = [driver_phrase(d, common) for d in ds]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Because: it turns most on {listed}."


def whatif_header(label: str, common: frozenset[str] = ARTICLES) -> str:
    """A what-if's header as a sentence: "Had the summit produced a deal", "If Germany bars Huawei from 5G"."""
    first = label.split(" ", 1)[0]
    if first in {"Had", "If", "Were", "Should", "Without", "With"}:
        return label
    return "If " + lower_first(label, common)


def flip_change(c: dict, labels: dict | None = None, common: frozenset[str] = ARTICLES) -> str:
    """The change of a flip in a few words (the CLI's flips table and the brief's): "belief in claim c01
    60% → 38%"; ``labels`` name a base rate's variable (else its id)."""
    k, ident = c["kind"], c["id"]
    if k == "credence":
        return f"belief in claim {ident} {pct(float(c['from']))} → {pct(float(c['to']))}"
    if k == "strength":
        return f"the effect claimed in {ident} {c['to']} rather than {c['from']}"
    if k == "base":
        name = lower_first(labels[ident], common) if labels and ident in labels else f"the base rate of {ident}"
        return f"{name} {c['to']} rather than {c['from']} on its own"
    where = f" ({c['variable']})" if c.get("variable") else ""
    return f"observation {ident}{where} {'the other way' if k == 'reversed' else 'left out'}"


__all__ += ["ARTICLES", "because", "claim_phrase", "driver_phrase", "flip_change", "headline",
            "lower_first", "sentence_case", "whatif_header"]
