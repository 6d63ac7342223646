"""Brief data → every string the reader sees, in the order the template lays them out (no layout here).

:func:`prepare` turns :func:`forecast.analyses.brief.collect`'s numbers into the strings of
``reports/brief.typ``: the bottom line and key judgments first, then the judgments' reasons, what to watch,
what would change our mind, the what-ifs, the competing views and the track record; then the annexes
(method and glossary, sources, claims with their passages, evidence, sensitivity, the full map). Numbers are
printed by :mod:`forecast.analyses.summary`'s one rounding rule; the body uses no word of :data:`JARGON`
(tested): those live in the method annex and its glossary.
"""

from __future__ import annotations

import re

from forecast.analyses import summary
from forecast.analyses.confidence import Assessment
from forecast.report import text
from forecast.report.bibliography import admiralty_key, dominant_source, entries
from forecast.report.confidence_text import sentence as confidence_sentence
from forecast.spec.schema import ScenarioModel

PAPERS = {"a4": "a4", "us-letter": "us-letter"}
# Words a policy reader should not meet before the method annex (tests read this list against the PDF).
JARGON = ("prior set", "posterior", "pareto", "paired draws", "draws", "credence", "r-hat", "effective sample",
          "mcmc", "nuts", "logit", "hyperparameter", "importance weight", "reweight", "monte carlo", "bayes factor",
          "seed", "likelihood ratio", "ancestral")
GLOSSARY = (
    ("Claim", "A causal statement a document makes: a cause raises or lowers an effect, with a strength."),
    ("Credence", "How much we believe a claim's mechanism is real (0–100%), set from its source's grade unless a "
                 "stance says otherwise."),
    ("Base rate", "How likely an event is, or how high an index is, before any claim acts on it."),
    ("Stance (prior set)", "A set of beliefs about the claims, e.g. reading the world as one document does; the "
                           "brief compares the stances."),
    ("Draw", "One reading of how true the claims are, drawn from our uncertainty about them; the forecast is "
             "the average over draws and the interval their spread."),
    ("Posterior", "The draws after the evidence has been taken into account (sampled with NUTS, an MCMC method)."),
    ("Interval", "The central range of the probability over draws: how much the answer depends on which claims "
                 "hold."),
    ("Paired draws", "A what-if evaluated on the same draws as the baseline, so each change is measured draw by "
                     "draw."),
    ("Reweighting", "A change of beliefs evaluated by weighting the existing draws (importance weights) instead "
                    "of sampling again; Pareto k says whether the weights can be trusted (below 0.7)."),
    ("R-hat, ESS", "Sampler health: R-hat near 1 means the chains agree; the effective sample size (ESS) is how "
                   "many independent draws the correlated ones are worth."),
    ("Bayes factor", "How much better one stance predicted the evidence than another; it gives the stances' "
                     "weights."),
    ("Brier score", "The squared error of a probability against what happened (0 best; always saying 50% scores "
                    "0.25)."),
)


def _value(ev: dict) -> str:
    v = ev["value"]
    if ev["soft"]:
        return "reported" if v else "reported not to have happened"
    if isinstance(v, bool):
        return "happened" if v else "did not happen"
    return f"measured at {v:.2f}"


def _show(v) -> str:
    return "true" if v is True else "false" if v is False else str(v)


def plain_warnings(diag: dict) -> list[str]:
    """Sampler health in words a reader without statistics can act on (the method annex)."""
    out = []
    if diag.get("method", "").startswith("MCMC"):
        if diag.get("r_hat_max", 1.0) > summary.RHAT_MAX:
            out.append(f"The sampler's chains do not fully agree (R-hat up to {diag['r_hat_max']:.2f}; below "
                       f"{summary.RHAT_MAX} is the usual standard): figures can shift with more draws.")
        ess = min(diag.get("ess_bulk_min", 1e9), diag.get("ess_tail_min", 1e9))
        if ess < summary.ESS_MIN:
            out.append(f"The draws are strongly correlated: they are worth only about {ess:.0f} independent ones "
                       f"({summary.ESS_MIN} is the usual minimum), so intervals are rough.")
        if diag.get("divergences"):
            n = diag["divergences"]
            out.append(f"The sampler hit {n} divergent transition{'s' * (n != 1)}: part of the posterior may be "
                       "missed and the results may be biased.")
    note = summary.approximation_note(diag)
    if note:
        out.append(note[0].upper() + note[1:] + ".")
    k = diag.get("pareto_k")
    if k is not None and k > summary.PARETO_K_MAX:
        out.append(f"A reweighted result leans on few draws (Pareto k {k:.2f} > {summary.PARETO_K_MAX}): treat it "
                   "as indicative.")
    elif k is not None:
        out.append(f"Reweighted draws: Pareto k {k:.2f} (below {summary.PARETO_K_MAX}, reliable); the weights are "
                   f"worth about {diag.get('ess_weights', 0):.0f} draws.")
    return out


def _first_sentence(s: str) -> str:
    """A stance's description for the body: its first sentence, without parenthesised technical asides."""
    first = re.split(r"(?<=[.!?])\s+", s.strip(), maxsplit=1)[0] if s else ""
    return re.sub(r"\s*\([^)]*\)", "", first).strip()


def _common_words(spec: ScenarioModel, data: dict) -> frozenset[str]:
    """The words the model's own prose writes in lower case (paraphrases, question texts, notes): a label opening
    with one of them is lowered inside a sentence; a name, never written in lower case, keeps its capital."""
    prose = [c.paraphrase for c in spec.claims] + [j["text"] for j in data["judgments"]]
    prose += [e.note for e in spec.evidence] + [spec.info.description]
    return frozenset(w for p in prose for w in re.findall(r"\b[a-z][a-z'’-]*\b", p)) | text.ARTICLES


def _list(xs: list[str]) -> str:
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1] if xs else ""


class _Doc:
    """The strings of one brief; each method prepares one part from ``data``."""

    def __init__(self, data: dict, figures: dict[str, str]):
        self.d, self.fig = data, figures
        self.level = data["title"]["interval"]
        self.lvl = f"{round(100 * self.level)}%"
        self.j = {j["id"]: j for j in data["judgments"]}
        self.claims = {c["id"]: c for c in data["claims"]}
        self.labels = {n["id"]: n["label"] for n in data["map"]["nodes"]}
        self.keys = data["key"]
        self.spec = ScenarioModel.model_validate(data["sources"]["spec"])
        self.common = _common_words(self.spec, data)

    def short(self, q: str) -> str:
        return f"{q}: {self.j[q]['short']}"

    def conf(self, j: dict) -> str:
        return confidence_sentence(Assessment.from_dict(j["confidence"]), round(100 * self.level))

    def definition(self, j: dict) -> str:
        """The question's resolution criteria in plain words (with an index's markers)."""
        out = f"Resolves: {j['resolution']}"
        if j.get("markers"):
            out = f"The index: {j['markers']} {out}"
        return out

    # ---- page 1 ---------------------------------------------------------------------------------------------
    def bottom_line(self) -> list[str]:
        d, lead = self.d, self.j[self.keys[0]] if self.keys else None
        out = []
        if lead is None:
            return ["The model asks no question with a probability."]
        out.append(text.judgment(lead, self.level))
        others = [self.j[q] for q in self.keys[1:]]
        if others:
            by_word: dict[str, list[str]] = {}
            for j in others:
                by_word.setdefault(j["word"], []).append(j["short"])
            parts = [f"{_list(v)} {'is' if len(v) == 1 else 'are'} {w}" for w, v in by_word.items()]
            out.append(f"Among the other key judgments, {_list(parts)}.")
        big = self._biggest_whatif()
        if big:
            out.append(big)
        if d["watch"]:
            w = d["watch"][0]
            q, e = next(iter(w["effects"].items()))
            out.append(f"The sign to watch is whether {text.lower_first(w['watch'])} "
                       f"({summary.pct(w['p_yes'])} chance): if it does, {self.j[q]['short']} goes to "
                       f"{summary.pct(e['if_yes'])}; if not, to {summary.pct(e['if_no'])}.")
        dom = self._dominant()
        if dom:
            out.append(dom)
        return out[:5]

    def _biggest_whatif(self) -> str | None:
        best = None
        for w in self.d["whatifs"]:
            for r in w["rows"]:
                if r["id"] in self.keys and (best is None or abs(r["diff"]["mean"]) > abs(best[1]["diff"]["mean"])):
                    best = (w, r)
        if best is None:
            return None
        w, r = best
        return (f"{text.whatif_header(w['label'], self.common)}, {self.j[r['id']]['short']} would go from "
                f"{summary.pct(r['baseline']['mean'])} to {summary.pct(r['whatif']['mean'])}.")

    def _dominant(self) -> str | None:
        dom = dominant_source(self.spec)
        if dom is None:
            return None
        src = self.spec.source(dom["id"])
        extra = " and cites unnamed officials" if src.unnamed_sources else ""
        return (f"Caution: {dom['claims']} of the model's {dom['total']} claims come from one source ({dom['id']}, "
                f"graded {dom['grade']}{extra}); confidence is lower in the judgments that rest mainly on it.")

    def key_items(self) -> list[dict]:
        out = []
        for i, q in enumerate(self.keys):
            j = self.j[q]
            ids = ", ".join(d["id"] for d in j["drivers"] if d["kind"] == "claim") or "none"
            out.append({"n": i + 1, "id": q, "short": j["short"], "sentence": text.judgment(j, self.level),
                        "because": text.because(j, self.common), "confidence": self.conf(j), "claims": ids,
                        "ref": f"{q}; claims {ids}"})
        return out

    def others(self) -> list[list[str]]:
        rows = []
        for j in self.d["judgments"]:
            if j["id"] in self.keys:
                continue
            prob = summary.pct(j["mean"]) if j.get("word") else "—"
            rows.append([f"{j['id']}: {j['short']}", j["text"], j["resolves_by"], prob, j.get("word", "—"),
                         j["confidence"]["level"]])
        return rows

    # ---- the key judgments, one block each ------------------------------------------------------------------
    def details(self) -> list[dict]:
        """Per key judgment: the question as it resolves, the judgment and its confidence, the driver diagram, and
        each driver claim in our words with the passage it rests on (or where that passage is quoted)."""
        out, shown = [], {}  # claim → the key judgment under which its passage is quoted (once in the body)
        for q in self.keys:
            j = self.j[q]
            claims = []
            for dr in j["drivers"]:
                if dr["kind"] != "claim":
                    continue
                c = self.claims[dr["id"]]
                first = c.get("same_as") or c["id"]
                ref = c["quote"] if c["quote"] and first not in shown else None
                where = (f"(passage quoted above, under {shown[first]})" if first in shown
                         else f"(passage quoted under {c['same_as']} in Annex C)" if c.get("same_as")
                         else "(no local text: see the source in Annex B)" if not c["quote"] else "")
                if ref:
                    shown[first] = q
                claims.append({"id": c["id"], "head": f"{c['id']} ({c['source']}, graded {c['grade']})",
                               "paraphrase": c["paraphrase"], "quote": ref, "where": where})
            out.append({
                "id": q, "short": j["short"], "text": j["text"], "definition": self.definition(j),
                "sentence": text.judgment(j, self.level), "confidence": self.conf(j),
                "figure": self.fig.get(f"drivers_{q}"), "claims": claims,
                "stances": "; ".join(f"{s['name']} {summary.pct(s['questions'][q]['mean'])}"
                                     for s in self.d["stances"]),
            })
        return out

    # ---- what to watch, what would change our mind -----------------------------------------------------------
    def watch(self) -> list[list[str]]:
        rows = []
        for w in self.d["watch"]:
            eff = w["effects"].items()
            yes = "; ".join(f"{self.short(q)} {summary.pct(e['now'])} → {summary.pct(e['if_yes'])}" for q, e in eff)
            no = "; ".join(f"{self.short(q)} {summary.pct(e['now'])} → {summary.pct(e['if_no'])}" for q, e in eff)
            rows.append([w["watch"], summary.pct(w["p_yes"]), yes, no])
        return rows

    def mind(self) -> list[list[str]]:
        """The smallest changes that move each key judgment's word: one row each (judgment, change, then)."""
        rows = []
        for q in self.keys:
            for f in self.d.get("mind", {}).get(q, []):
                rows.append([f"{self.short(q)} ({self.j[q]['word']})", text.flip_change(f, self.labels, self.common),
                             f"{f['word_to']} ({summary.pct(f['probability'])})"])
        return rows

    # ---- what-ifs ------------------------------------------------------------------------------------------
    def whatifs(self) -> list[dict]:
        out = []
        for w in self.d["whatifs"]:
            rows = []
            for r in w["rows"]:
                dd = r["diff"]
                rows.append([f"{r['id']}: {r['short']}", summary.pct(r["baseline"]["mean"]),
                             summary.pct(r["whatif"]["mean"]), summary.pts(dd["shown"]),
                             "—" if dd["lo"] is None else f"{summary.pts(dd['lo'])} to {summary.pts(dd['hi'])}"])
            acts = [f"{self.labels.get(k, k)}: {'yes' if v is True else 'no' if v is False else _show(v)}"
                    for k, v in {**w["do"], **w["observe"]}.items()]
            # how each was computed, its settings and warnings: the method annex (method())
            out.append({"id": w["id"], "header": text.whatif_header(w["label"], self.common), "acts": "; ".join(acts),
                        "rows": rows})
        return out

    # ---- competing views -----------------------------------------------------------------------------------
    def views(self) -> dict:
        d = self.d
        st = d["stances"]
        notes = [{"name": s["name"], "view": _first_sentence(s["description"]),
                  "weight": None if s.get("weight") is None else summary.pct(s["weight"])} for s in st]
        top = max((s for s in st if s.get("weight") is not None), key=lambda s: s["weight"], default=None)
        items, also = [], []
        for v in d["views"]:
            j = self.j[v["id"]]
            if v["id"] not in self.keys:  # the disagreements that matter most: on the key judgments
                also.append(f"{v['id']} ({j['short']}: {round(100 * v['spread'])} points)")
                continue
            rows = [[s["name"], summary.pct(s["mean"]), s["word"], self._belief(s["differs"]) if s["differs"] else
                     "the baseline's beliefs on the claims that move it most"] for s in v["stances"]]
            fav = None if top is None else (
                f"The evidence so far favours the {top['name']} view most (weight {summary.pct(top['weight'])} "
                f"of the stances'), which puts it at {summary.pct(top['questions'][v['id']]['mean'])}.")
            items.append({"id": v["id"], "short": j["short"], "spread": round(100 * v["spread"]), "rows": rows,
                          "favoured": fav})
        assumptions = [[a["id"], a["label"].split(": ", 1)[-1], f"{a['source']} ({a['grade']})",
                        f"{round(100 * a['swing'])}", "weak" if a["weak"] else "sound"] for a in d["assumptions"]]
        by_date: dict[str, list[str]] = {}
        for o in d["outlook"]:
            by_date.setdefault(o["resolves_by"], []).append(
                f"{o['id']} {summary.pct(o['mean'])}" + ("*" if o["id"] in self.keys else ""))
        outlook = [[date, ", ".join(qs)] for date, qs in by_date.items()]
        return {"notes": notes, "items": items, "also": "; ".join(also), "assumptions": assumptions,
                "outlook": outlook}

    def _belief(self, b: dict) -> str:
        """What a stance believes of one claim, against the baseline, in plain words."""
        c = self.claims[b["id"]]
        verb = "believes" if b["credence"] > b["baseline"] else "doubts"
        return (f"{verb} {b['id']} ({c['source']}: {text.claim_phrase(c, self.common)}), "
                f"{summary.pct(b['credence'])} against {summary.pct(b['baseline'])}")

    # ---- track record ----------------------------------------------------------------------------------------
    def record(self) -> dict | None:
        rec = self.d.get("record")
        if not rec:
            return None
        rows = []
        for ps in rec["prior_sets"]:
            b = ps["brier"]
            e = ps["brier_vs_no_evidence"]
            rows.append([ps["priors"], f"{b['mean']:.3f}", f"{b['lo']:.3f}–{b['hi']:.3f}", f"{e['mean']:+.3f}"])
        base = rec["prior_sets"][0]
        cal = [[c["word"], str(c["n"]), summary.pct(c["forecast"]), summary.pct(c["happened"])]
               for c in base["calibration"]]
        misses = []
        for m in rec["misses"][:3]:
            dr = "; ".join(b["label"].split(": ", 1)[-1] for b in m["drivers"][:2])
            misses.append([f"{m['id']}: {self.j[m['id']]['short']}", summary.pct(m["forecast"]),
                           "yes" if m["outcome"] else "no", f"{m['brier']:.2f}", dr])
        return {"resolved": rec["resolved"], "questions": rec["questions"], "flat": f"{rec['flat']['brier']:.3f}",
                "rows": rows, "calibration": cal, "misses": misses, "figure": self.fig.get("reliability")}

    # ---- annexes ----------------------------------------------------------------------------------------------
    def bibliography(self) -> dict:
        dom = dominant_source(self.spec)
        return {"entries": entries(self.spec, self.d["sources"]["used"]), "key": admiralty_key(),
                "warning": dom["warning"] if dom else None}

    def claims_annex(self) -> list[dict]:
        out = []
        for c in self.d["claims"]:
            cred = f"credence {summary.pct(c['credence'])}"
            if "credence_post" in c:
                cred += f" → {summary.pct(c['credence_post'])} given the evidence"
            where = (f"{'lines' if '-' in c['locator'] else 'line'} {c['locator']} of {c['source']}"
                     if c["locator"] else f"{c['source']}")
            out.append({"id": c["id"], "head": f"{c['cause']} → {c['effect']}" if c["direction"] == "raises"
                        else f"{c['cause']} ⊣ {c['effect']}",
                        "meta": f"{c['direction']}, {c['strength']}; {where} (graded {c['grade']}); {cred}",
                        "paraphrase": c["paraphrase"], "quote": c["quote"], "same_as": c.get("same_as"),
                        "follows": c.get("follows")})
        return out

    def evidence(self) -> dict:
        ev = self.d["evidence"]
        rows = []
        for e in ev["rows"]:
            moved = [f"{m['question']} ({self.j[m['question']]['short']}) {summary.pts(m['change'])}"
                     for m in e["moved"]]
            if (e.get("pareto_k") or 0.0) > summary.PARETO_K_MAX:
                moved.append(f"indicative only (Pareto k {e['pareto_k']:.2f})")
            grade = e["grade"] + (" (soft)" if e["soft"] else "")
            rows.append({"cells": [e["date"], f"{e['label']}: {_value(e)}", e["source"], grade], "moved": moved,
                         "note": e["note"]})
        return {"rows": rows, "impact": ev["impact"],
                "total": "; ".join(f"{m['question']} ({self.j[m['question']]['short']}) {summary.pts(m['change'])}"
                                   for m in ev.get("total", []))}

    def sensitivity(self) -> dict:
        s = self.d["sensitivity"]
        items = []
        for qid, q in s["questions"].items():
            top = q["bars"][0] if q["bars"] else None
            lead = (f"Most sensitive to {top['label']}: {summary.pct(top['low'])} at {top['low_text']}, "
                    f"{summary.pct(top['high'])} at {top['high_text']}." if top else "No input can move it.")
            items.append({"id": qid, "short": self.j[qid]["short"], "text": self.j[qid]["text"],
                          "baseline": summary.pct(q["baseline"]),
                          "lead": lead, "figure": self.fig.get(f"tornado_{qid}"), "candidates": q["candidates"]})
        return {"items": items, "low": summary.pct(s["low_credence"]), "high": summary.pct(s["high_credence"]),
                "quantiles": [round(100 * x) for x in s["base_quantiles"]]}

    def stances_annex(self) -> dict:
        st = self.d["stances"]
        rows = []
        for j in self.d["judgments"]:
            ps = [s["questions"][j["id"]]["mean"] for s in st]
            rows.append([self.short(j["id"])] + [summary.pct(p) for p in ps] + [f"{round(100 * (max(ps) - min(ps)))}"])
        return {"names": [s["name"] for s in st], "rows": rows,
                "descriptions": [{"name": s["name"], "description": s["description"]} for s in st]}

    def method(self) -> dict:
        diag, t = self.d["diagnostics"], self.d["title"]
        base = plain_warnings(diag)  # said once; a what-if lists only what it adds
        return {
            "run": [["Model file", t["file"]], ["Model id", t["model"]],
                    ["As of", "—" if not t["as_of"] else f"{t['as_of']} ({t['as_of_basis']})"],
                    ["Stances (prior sets)", ", ".join(t["prior_sets"])], ["Seed", str(t["seed"])],
                    ["Draws", str(t["draws"])], ["Toolkit", f"forecast {t['version']}"],
                    ["Intervals", f"central {self.lvl} over draws"]],
            "method": diag.get("method", ""), "chains": diag.get("chains"), "worlds": diag.get("worlds_per_draw"),
            "r_hat": None if diag.get("r_hat_max") is None else f"{diag['r_hat_max']:.3f}",
            "ess": None if diag.get("ess_bulk_min") is None
            else f"bulk {diag['ess_bulk_min']:.0f}, tail {diag['ess_tail_min']:.0f}",
            "divergences": diag.get("divergences"), "raw": diag.get("warnings", []),
            "plain": base, "bad": self.d.get("sampler_bad", False),
            "glossary": [{"term": a, "text": b} for a, b in GLOSSARY],
            "words": [{"word": w, "band": f"{summary.pct(b[0])}–{summary.pct(b[1])}"}
                      for w, b in self.d["words"].items()],
            "whatifs": [{"header": text.whatif_header(w["label"], self.common), "how": w["how"],
                         "description": w["description"], "set": "; ".join(f"{k} = {v}" for k, v in w["set"].items()),
                         "warnings": [x for x in plain_warnings(w.get("diagnostics", {})) if x not in base]}
                        for w in self.d["whatifs"]],
        }


def prepare(data: dict, figures: dict[str, str], paper: str) -> dict:
    """The template's input: every string the reader will see."""
    doc = _Doc(data, figures)
    t = data["title"]
    lead = doc.j[doc.keys[0]] if doc.keys else None
    return {
        "paper": PAPERS[paper],
        "title": {"headline": text.headline(lead) if lead else t["title"], "model_title": t["title"],
                  "description": t["description"], "as_of": t["as_of"] or "—", "model": t["model"],
                  "version": t["version"], "level": doc.lvl},
        "bottom_line": doc.bottom_line(),
        "keys": doc.key_items(),
        "others": doc.others(),
        "details": doc.details(),
        "watch": doc.watch(),
        "mind": doc.mind(),
        "whatifs": doc.whatifs(),
        "moved": summary.pts(data["moved"]),
        "views": doc.views(),
        "record": doc.record(),
        "bibliography": doc.bibliography(),
        "claims": doc.claims_annex(),
        "quoted": any(c["quote"] for c in data["claims"]),
        "evidence": doc.evidence(),
        "sensitivity": doc.sensitivity(),
        "stances": doc.stances_annex(),
        "method": doc.method(),
        "figures": figures,
    }
