"""Brief data → display strings → Typst → PDF (and page PNGs for checking by eye).

:func:`prepare` turns the analyses' numbers into the strings the reader sees
(sentences from :mod:`forecast.report.text`); the template
``reports/brief.typ`` reads them with ``json()`` and only lays them out. Only
Typst's embedded fonts are used (Libertinus Serif; figures carry their text
as paths), so the PDF looks the same on every machine.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from forecast.analyses import summary
from forecast.report import text
from forecast.report.figures import all_figures
from forecast.spec import jsonio
from forecast.spec.outputs import write_atomic

TEMPLATE = Path(__file__).resolve().parents[2] / "reports" / "brief.typ"
PAPERS = {"a4": "a4", "us-letter": "us-letter"}


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
    """Sampler health in words a reader without statistics can act on."""
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
                   "worth about "
                   f"{diag.get('ess_weights', 0):.0f} draws.")
    return out


def prepare(data: dict, figures: dict[str, str], paper: str) -> dict:
    """The template's input: every string the reader will see."""
    level = data["title"]["interval"]
    lvl = f"{round(100 * level)}%"
    qtext = {j["id"]: j for j in data["judgments"]}
    judg = [{"id": j["id"], "sentence": text.judgment(j, level), "confidence": text.confidence(j, level),
             "importance": j["importance"], "resolution": j["resolution"]} for j in data["judgments"]]

    whatifs = []
    for w in data["whatifs"]:
        rows = []
        for r in w["rows"]:
            index = r["kind"] == "index"
            f = (lambda s: summary.level(s["mean"])) if index else (lambda s: text.pct(s["mean"]))
            g = summary.level_change if index else text.pts
            d = r["diff"]
            rows.append([f"{r['id']}: {r['short']}" if r["short"] else r["label"], f(r["baseline"]), f(r["whatif"]),
                         g(d["shown"]), "—" if d["lo"] is None else f"{g(d['lo'])} to {g(d['hi'])}"])
        acts = [f"{k} := {_show(v)}" for k, v in w["do"].items()]
        acts += [f"observe {k} = {_show(v)}" for k, v in w["observe"].items()]
        acts += [f"{k} = {v}" for k, v in w["set"].items()]
        whatifs.append({"id": w["id"], "label": w["label"], "description": w["description"], "how": w["how"],
                        "acts": "; ".join(acts), "rows": rows, "figure": figures.get(f"whatif_{w['id']}"),
                        "warnings": plain_warnings(w.get("diagnostics", {}))})

    stances = data["stances"]
    stance_rows = []
    for j in data["judgments"]:
        ps = [s["questions"][j["id"]]["mean"] for s in stances]
        stance_rows.append([f"{j['id']}: {j['short']}"] + [text.pct(p) for p in ps]
                           + [f"{round(100 * (max(ps) - min(ps)))}"])

    sens = []
    for qid, q in data["sensitivity"]["questions"].items():
        top = q["bars"][0] if q["bars"] else None
        lead = (f"Most sensitive to {top['label']}: {text.pct(top['low'])} at {top['low_text']}, "
                f"{text.pct(top['high'])} at {top['high_text']}." if top else "No input in its ancestry can move it.")
        sens.append({"id": qid, "text": qtext[qid]["text"], "baseline": text.pct(q["baseline"]), "lead": lead,
                     "figure": figures.get(f"tornado_{qid}"), "candidates": q["candidates"]})

    ev = data["evidence"]
    ev_rows = []
    for e in ev["rows"]:
        moved = [f"{m['question']} ({qtext[m['question']]['short']}) {text.pts(m['change'])}" for m in e["moved"]]
        if (e.get("pareto_k") or 0.0) > summary.PARETO_K_MAX:
            moved.append(f"indicative only (Pareto k {e['pareto_k']:.2f})")
        grade = e["grade"] + (" (soft)" if e["soft"] else "")
        ev_rows.append({"cells": [e["date"], f"{e['label']}: {_value(e)}", e["source"], grade], "moved": moved,
                        "note": e["note"]})
    claims = []
    for c in data["claims"]:
        cred = f"credence {text.pct(c['credence'])}"
        if "credence_post" in c:
            cred += f" → {text.pct(c['credence_post'])} given the evidence"
        claims.append({"id": c["id"], "head": f"{c['cause']} → {c['effect']}",
                       "meta": f"{c['direction']}, {c['strength']}; {c['source']} ({c['grade']}), "
                               + (f"{'lines' if '-' in c['locator'] else 'line'} {c['locator']}; " if c["locator"]
                                  else "") + cred,
                       "paraphrase": c["paraphrase"], "quote": c["quote"]})
    diag = data["diagnostics"]
    t = data["title"]
    return {
        "paper": PAPERS[paper],
        "title": {**t, "prior_sets": ", ".join(t["prior_sets"]), "level": lvl,
                  "run": f"seed {t['seed']}; {t['draws']} draws",
                  "as_of_text": "—" if not t["as_of"] else f"{t['as_of']} ({t['as_of_basis']})"},
        "words": [{"word": w, "band": f"{text.pct(b[0])}–{text.pct(b[1])}"} for w, b in data["words"].items()],
        "judgments": judg,
        "figures": figures,
        "whatifs": whatifs,
        "stances": {"names": [s["name"] for s in stances], "rows": stance_rows,
                    "descriptions": [{"name": s["name"], "description": s["description"]} for s in stances]},
        "sensitivity": {"items": sens, "low": text.pct(data["sensitivity"]["low_credence"]),
                        "high": text.pct(data["sensitivity"]["high_credence"]),
                        "quantiles": [round(100 * x) for x in data["sensitivity"]["base_quantiles"]]},
        "evidence": {"rows": ev_rows, "impact": ev["impact"],
                     "total": "; ".join(f"{m['question']} ({qtext[m['question']]['short']}) {text.pts(m['change'])}"
                                        for m in ev.get("total", []))},
        "claims": claims,
        "quoted": any(c["quote"] for c in data["claims"]),
        "diagnostics": {"method": diag.get("method", ""), "chains": diag.get("chains"), "draws": diag.get("draws"),
                        "worlds": diag.get("worlds_per_draw"),
                        "r_hat": None if diag.get("r_hat_max") is None else f"{diag['r_hat_max']:.3f}",
                        "ess": None if diag.get("ess_bulk_min") is None
                        else f"bulk {diag['ess_bulk_min']:.0f}, tail {diag['ess_tail_min']:.0f}",
                        "divergences": diag.get("divergences"), "raw": diag.get("warnings", []),
                        "plain": plain_warnings(diag)},
        "confidence": [{"level": name, "below": round(100 * bound)} for bound, name in data["confidence_bounds"]],
    }


def compile_pdf(data: dict, out: str | Path, paper: str = "a4", png_dir: str | Path | None = None,
                png_ppi: float = 110.0) -> Path:
    """Write the brief to ``out`` atomically (temporary file beside it, then ``os.replace``)."""
    import typst

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="forecast-brief-") as tmp:
        build = Path(tmp)
        figures = all_figures(data, build / "fig")
        doc = prepare(data, {k: f"fig/{v}" for k, v in figures.items()}, paper)
        (build / "data.json").write_text(jsonio.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        shutil.copyfile(TEMPLATE, build / "brief.typ")
        stamp = dt.datetime.combine(dt.date.fromisoformat(data["title"]["as_of"]) if data["title"]["as_of"]
                                    else dt.date(2000, 1, 1), dt.time(), dt.UTC)
        pdf = typst.compile(str(build / "brief.typ"), root=str(build), ignore_system_fonts=True, format="pdf",
                            timestamp=stamp)
        write_atomic(out, pdf)
        if png_dir is not None:
            Path(png_dir).mkdir(parents=True, exist_ok=True)
            typst.compile(str(build / "brief.typ"), output=str(Path(png_dir) / "page-{0p}.png"), root=str(build),
                          ignore_system_fonts=True, format="png", ppi=png_ppi)
    return out
