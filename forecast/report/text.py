"""Sentences of the brief: key judgments in ICD 203 language, confidence in its own sentence.

ICD 203 keeps likelihood and confidence apart: a judgment sentence carries one
likelihood word (from the prior set's ``[probability_words]``, chosen in the
analyses from the rounded percentage printed beside it) and no confidence
word; the confidence sentence that follows carries no likelihood word.
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


def confidence(j: dict, level: float) -> str:
    """The confidence sentence: no likelihood word in it."""
    c = j["confidence"]
    n = j["claims"]
    grades = ", ".join(c["grades"]) if c["grades"] else "none"
    basis = (f"it rests on {n} claim{'s' if n != 1 else ''} (sources graded {grades})" if n
             else "no claim bears on it: it is the base rate alone")
    return (f"We have {c['level']} confidence in this judgment: {basis}, and its {round(100 * level)}% interval "
            f"spans {round(100 * c['width'])} points.")


__all__ = ["clause", "confidence", "judgment", "likelihood_phrase", "pct", "pts"]
