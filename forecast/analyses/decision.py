"""The brief's decision parts, as plain data: which judgments are key, what drives each, what to watch, what
would change our mind, where the documents' views disagree, which assumptions carry most, and the outlook.

Each function reads analyses already run for the brief (the baseline's questions, the what-ifs' and the
stances' changes, :func:`forecast.analyses.sensitivity.tornado`, :func:`forecast.analyses.signposts.signposts`,
:func:`forecast.analyses.flips.flips`) and chooses or ranks; nothing here samples, draws or writes prose (the
report layer words it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

KEY_JUDGMENTS = 6  # page 1's key judgments (the issue asks for 5 to 7)
DRIVERS = 3  # claims named in a key judgment's "because"
WATCH = 6  # indicators in the signposts table
FLIPS = 2  # the smallest changes that flip a key judgment, per judgment
ASSUMPTIONS = 6  # claims in the key-assumptions check
WEAK = frozenset("CDEF")  # a source graded C or worse (reliability) is a weak grade


def stakes(judgments: Sequence[dict], whatifs: Sequence[dict], stances: Sequence[dict]) -> dict[str, float]:
    """How much each question matters to a decision: the largest change any named what-if or any stance makes
    to its probability (a judgment nothing can move decides little)."""
    out = {j["id"]: 0.0 for j in judgments}
    for w in whatifs:
        for r in w["rows"]:
            if r["kind"] == "question" and r["id"] in out:
                out[r["id"]] = max(out[r["id"]], abs(r["diff"]["mean"]))
    for s in stances[1:]:
        for q, d in s["questions"].items():
            if q in out:
                out[q] = max(out[q], abs(d["mean"] - stances[0]["questions"][q]["mean"]))
    return out


def key_judgments(judgments: Sequence[dict], stake: Mapping[str, float], n: int = KEY_JUDGMENTS) -> list[str]:
    """The ``n`` key judgments: the model's importance first, then the stake (:func:`stakes`), then the id; only
    questions with a probability (an index question without a threshold has none)."""
    worded = [j for j in judgments if j.get("word")]
    worded.sort(key=lambda j: (-j["importance"], -round(stake.get(j["id"], 0.0), 3), j["id"]))
    return [j["id"] for j in worded[:n]]


def drivers(bars: Sequence[dict], claims: Mapping[str, dict], n: int = DRIVERS) -> list[dict]:
    """A question's main drivers: its tornado's claim bars (the claims whose credence moves it most), with the
    claim's source and grade; a base rate among the top bars is kept too (it is a driver the reader should know)."""
    out = []
    for b in bars:
        if len(out) == n:
            break
        d = {"kind": b["kind"], "id": b["id"], "label": b["label"], "low": b["low"], "high": b["high"],
             "low_text": b["low_text"], "high_text": b["high_text"], "swing": b["swing"]}
        if b["kind"] == "claim":
            c = claims[b["id"]]
            d.update(source=c["source"], grade=c["grade"], cause=c["cause"], effect=c["effect"],
                     direction=c["direction"])
        out.append(d)
    return out


def watchlist(sp: dict, keys: Sequence[str], n: int = WATCH) -> list[dict]:
    """The indicators to watch: ranked by their importance-weighted value to the key judgments (expected Brier
    reduction), each with what its two outcomes would do to every key judgment it reaches."""
    score: dict[str, dict] = {}
    for q in keys:
        d = sp["questions"].get(q)
        if d is None:
            continue
        w = d["importance"]
        for row in d["indicators"]:
            s = score.setdefault(row["variable"], {"variable": row["variable"], "label": row["label"],
                                                   "watch": row["watch"], "kind": row["kind"], "p_yes": row["p_yes"],
                                                   "value": 0.0, "effects": {}})
            s["value"] += w * row["brier_reduction"]
            if row["expected_change"] >= 0.005:
                s["effects"][q] = {"now": row["now"], "if_yes": row["yes"]["forecast"],
                                   "if_no": row["no"]["forecast"], "word_yes": row["yes"]["word"],
                                   "word_no": row["no"]["word"], "expected_change": row["expected_change"]}
    rows = [s for s in score.values() if s["effects"]]
    rows.sort(key=lambda s: (-s["value"], s["variable"]))
    return rows[:n]


def mind_changers(fl: dict, keys: Sequence[str], n: int = FLIPS) -> dict[str, list[dict]]:
    """Per key judgment, the smallest single changes that move its word (firm ones first, as ``flips`` ranks)."""
    out = {}
    for q in keys:
        d = fl["questions"].get(q)
        out[q] = [] if d is None else [
            {"kind": f["change"]["kind"], "id": f["change"]["id"], "from": f["change"]["from"],
             "to": f["change"]["to"], "word_from": f["from"], "word_to": f["to"],
             "probability": f["probability"]["mean"], "firm": f["firm"]} for f in d["flips"][:n]]
    return out


def views(judgments: Sequence[dict], stances: Sequence[dict], sensitivity: Mapping[str, dict]) -> list[dict]:
    """The disagreements that matter: the judgments whose ICD 203 word changes under some stance, widest first;
    each stance with the claim it believes differently that moves the judgment most (:func:`differs`)."""
    if len(stances) < 2:
        return []
    out = []
    for j in judgments:
        if not j.get("word"):
            continue
        bars = [b for b in sensitivity.get(j["id"], {}).get("bars", []) if b["kind"] == "claim"]
        per = [{"name": s["name"], "mean": s["questions"][j["id"]]["mean"], "word": s["questions"][j["id"]]["word"],
                "differs": differs(s["credences"], stances[0]["credences"], bars)} for s in stances]
        if len({p["word"] for p in per}) > 1:
            spread = max(p["mean"] for p in per) - min(p["mean"] for p in per)
            out.append({"id": j["id"], "stances": per, "spread": spread})
    out.sort(key=lambda v: (-v["spread"], v["id"]))
    return out


def differs(credences: Mapping[str, float], base: Mapping[str, float], bars: Sequence[dict]) -> dict | None:
    """Of the claims that move a judgment most (its tornado's claim bars), the one on which a stance's belief
    differs most from the baseline's, by swing times the difference; None where it differs on none."""
    best = max(bars, key=lambda b: (b["swing"] * abs(credences[b["id"]] - base[b["id"]]), b["id"]), default=None)
    if best is None or abs(credences[best["id"]] - base[best["id"]]) < 1e-9:
        return None
    return {"id": best["id"], "credence": credences[best["id"]], "baseline": base[best["id"]]}


def assumptions(sensitivity: Mapping[str, dict], claims: Mapping[str, dict], keys: Sequence[str],
                n: int = ASSUMPTIONS) -> list[dict]:
    """The key-assumptions check: the claims that move the key judgments most (largest swing over them), each
    with its grade and whether the grade is weak (reliability C or worse), largest swing first."""
    best: dict[str, dict] = {}
    for q in keys:
        for b in sensitivity.get(q, {}).get("bars", []):
            if b["kind"] != "claim":
                continue
            cur = best.get(b["id"])
            if cur is None or b["swing"] > cur["swing"]:
                c = claims[b["id"]]
                best[b["id"]] = {"id": b["id"], "label": b["label"], "swing": b["swing"], "question": q,
                                 "source": c["source"], "grade": c["grade"], "weak": c["grade"][0] in WEAK,
                                 "credence": c["credence"], "paraphrase": c["paraphrase"]}
    rows = sorted(best.values(), key=lambda d: (-d["swing"], d["id"]))
    return rows[:n]


def outlook(judgments: Sequence[dict]) -> list[dict]:
    """The questions by deadline, soonest first: the timeline of when each judgment will be known."""
    rows = [{"id": j["id"], "resolves_by": j["resolves_by"], "mean": j["mean"], "word": j.get("word"),
             "importance": j["importance"]} for j in judgments]
    return sorted(rows, key=lambda d: (d["resolves_by"], d["id"]))


__all__ = ["assumptions", "differs", "drivers", "key_judgments", "mind_changers", "outlook", "stakes", "views",
           "watchlist"]
