"""Driver diagrams: for one key judgment, the few claims that move it most, readable on paper.

The full causal map answers "what is connected to what"; a driver diagram answers "which claims does this
judgment rest on". It reads the sensitivity section of the brief's data (:func:`forecast.analyses.sensitivity.
tornado`: each input moved from low to high credence, the question's probability at each end) and draws the
question as a box on the right, its top claim drivers as boxes on the left (cause, "raises" or "lowers", effect;
the claim's id, its source and the source's grade), and an arrow from each driver to the question whose width is
the swing and whose label says what the judgment becomes as the claim's credence goes from low to high.

:func:`driver_data` gives the plain data (tested without drawing), :func:`draw_drivers` the Figure, sized for
a third of an A4 text column (16.5 cm by about 7 cm) with lettering of :data:`SMALL` points or more at that
size, and :func:`driver_figures` writes one per key judgment beside the brief's other charts.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from forecast.report.figures import RC, WIDTH, save
from forecast.report.text import pct

TOP = 3  # drivers shown
SMALL = 7.5  # points: the smallest lettering
BODY = 8.0
HEAD = 8.5
RAISES, LOWERS = "#b2182b", "#2166ac"  # the judgment goes up (down) as the claim is believed more
LEFT, RIGHT = 0.43, 0.27  # fractions of the width: the drivers' column and the question's
PAD = 5.0  # points inside a box
GAP = 12.0  # points between two drivers
MARGIN = 3.0
MAX_TAIL = 14.0  # points: the widest arrow


def driver_data(data: dict, qid: str, title: str | None = None, top: int = TOP) -> dict:
    """The question and its ``top`` claim drivers, widest swing first, from the brief's data.

    Returns ``{"id", "title", "baseline", "drivers": [{"id", "cause", "effect", "direction", "source", "grade",
    "low", "high", "low_text", "high_text", "swing"}], "others": n}``, ``others`` being the inputs tested
    but not shown (claims beyond ``top`` and base rates).
    """
    q = data["sensitivity"]["questions"][qid]
    if title is None:
        title = next((j.get("short") or j["text"] for j in data.get("judgments", []) if j["id"] == qid), qid)
    claims = {c["id"]: c for c in data.get("claims", [])}
    nodes = {n["id"]: n["label"] for n in data.get("map", {}).get("nodes", [])}
    edges = {e["id"]: e for e in data.get("map", {}).get("edges", [])}
    grades = {s["id"]: s["grade"] for s in data.get("map", {}).get("sources", [])}
    drivers = []
    for b in q["bars"]:
        if b["kind"] != "claim" or len(drivers) == top:
            continue
        c = claims.get(b["id"])
        if c is None:  # only the map's edge: words from its variables
            e = edges[b["id"]]
            c = {"cause": nodes.get(e["cause"], e["cause"]), "effect": nodes.get(e["effect"], e["effect"]),
                 "direction": "lowers" if e["sign"] < 0 else "raises", "source": e["source"],
                 "grade": grades.get(e["source"], "?")}
        drivers.append({"id": b["id"], "cause": c["cause"], "effect": c["effect"], "direction": c["direction"],
                        "source": c["source"], "grade": c["grade"], "low": b["low"], "high": b["high"],
                        "low_text": b["low_text"], "high_text": b["high_text"], "swing": b["swing"]})
    return {"id": qid, "title": title, "baseline": q["baseline"], "drivers": drivers,
            "others": q.get("candidates", len(q["bars"])) - len(drivers)}


def _setting(d: dict) -> str:
    """"credence 5%" and "credence 95%" → "believed 5% → 95%" (the body of the brief says "believed")."""
    (p1, _, lo), (p2, _, hi) = d["low_text"].rpartition(" "), d["high_text"].rpartition(" ")
    p1 = "believed" if p1 == p2 == "credence" else p1
    return f"{p1} {lo} → {hi}" if p1 == p2 or p1 == "believed" else f"{d['low_text']} → {d['high_text']}"


def _fill(text: str, width_pt: float, size: float, renderer, fig: Figure, **kw) -> str:
    """``text`` wrapped to the most characters a line whose measured width fits ``width_pt``."""
    probe = fig.text(0, 0, "", fontsize=size, **kw)
    try:
        for split in (False, True):  # a word too long for the line (an identifier) is split last
            for chars in range(80, 4, -1):
                wrapped = textwrap.fill(text, chars, break_long_words=split, break_on_hyphens=not split)
                probe.set_text(wrapped)
                if probe.get_window_extent(renderer).width * 72 / fig.dpi <= width_pt:
                    return wrapped
        return wrapped
    finally:
        probe.remove()


def _size(t, renderer, fig: Figure) -> tuple[float, float]:
    bb = t.get_window_extent(renderer)
    return bb.width * 72 / fig.dpi, bb.height * 72 / fig.dpi


def draw_drivers(d: dict, width: float = WIDTH) -> Figure:
    """The driver diagram of :func:`driver_data`'s ``d`` (``width`` inches wide, as tall as it needs)."""
    with mpl.rc_context(RC):
        fig = Figure(figsize=(width, 3.0))
        renderer = FigureCanvasAgg(fig).get_renderer()
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.axis("off")
        w = width * 72
        lw, rw = LEFT * w, RIGHT * w
        # the boxes' texts, measured: a bold head and a body each
        boxes = []
        for x in d["drivers"]:
            head = _fill(f"{x['id']} · source {x['source']} ({x['grade']})", lw - 2 * PAD, HEAD, renderer, fig,
                         fontweight="bold")
            body = _fill(f"{x['cause']} {x['direction']} {x['effect']}", lw - 2 * PAD, BODY, renderer, fig)
            boxes.append((head, body))
        q_head = _fill(d["id"], rw - 2 * PAD, HEAD, renderer, fig, fontweight="bold")
        q_body = _fill(d["title"], rw - 2 * PAD, BODY, renderer, fig) + f"\n\nnow {pct(d['baseline'])}"
        texts = []
        for head, body in [*boxes, (q_head, q_body)]:
            th = ax.text(0, 0, head, fontsize=HEAD, fontweight="bold", ha="left", va="top", zorder=3)
            tb = ax.text(0, 0, body, fontsize=BODY, ha="left", va="top", zorder=3, linespacing=1.15)
            texts.append((th, tb, _size(th, renderer, fig), _size(tb, renderer, fig)))
        heights = [sh[1] + sb[1] + 2 * PAD + 5 for _, _, sh, sb in texts]
        foot = ax.text(MARGIN, MARGIN, f"Arrow width: how far the judgment moves between believing the claim "
                       f"little and much, other inputs as they are. {d['others']} other inputs tested "
                       f"(Annex E).", fontsize=SMALL, color="#444444", ha="left", va="bottom")
        foot.set_text(_fill(foot.get_text(), w - 2 * MARGIN, SMALL, renderer, fig))
        foot_h = _size(foot, renderer, fig)[1] + 6
        stack = sum(heights[:-1]) + GAP * max(len(boxes) - 1, 0)
        body_h = max(stack, heights[-1])
        h = body_h + foot_h + 2 * MARGIN
        fig.set_size_inches(width, h / 72)
        ax.set_xlim(0, w)
        ax.set_ylim(0, h)
        top = h - MARGIN - (body_h - stack) / 2
        mids = []
        for (th, tb, sh, _), bh in zip(texts[:-1], heights[:-1], strict=True):
            _box(ax, MARGIN, top - bh, lw, bh, "white", "#555555")
            th.set_position((MARGIN + PAD, top - PAD))
            tb.set_position((MARGIN + PAD, top - PAD - sh[1] - 3))
            mids.append(top - bh / 2)
            top -= bh + GAP
        # the question: as tall as the drivers' column, so that every arrow runs straight
        th, tb, sh, sb = texts[-1]
        qx = w - MARGIN - rw
        q_top = h - MARGIN
        q_h = body_h
        _box(ax, qx, q_top - q_h, rw, q_h, "#f2f2f2", "#222222", lw=1.2)
        inner = sh[1] + sb[1] + 2
        th.set_position((qx + PAD, q_top - (q_h - inner) / 2))
        tb.set_position((qx + PAD, q_top - (q_h - inner) / 2 - sh[1] - 2))
        x0, x1 = MARGIN + lw, qx
        for x, y in zip(d["drivers"], mids, strict=True):
            tail = min(1.0 + 40.0 * x["swing"], MAX_TAIL)
            colour = RAISES if x["high"] >= x["low"] else LOWERS
            ax.add_patch(FancyArrowPatch(
                (x0 + 1, y), (x1 - 1, y), mutation_scale=1.0, color=colour, alpha=0.85, lw=0, zorder=2,
                shrinkA=0, shrinkB=0, arrowstyle=f"simple,tail_width={tail},head_width={tail + 7},head_length=8"))
            ax.text((x0 + x1) / 2, y + tail / 2 + 2.5, f"{pct(x['low'])} → {pct(x['high'])}", ha="center",
                    va="bottom", fontsize=HEAD, fontweight="bold", color=colour, zorder=3)
            ax.text((x0 + x1) / 2, y - tail / 2 - 2.5, _setting(x), ha="center", va="top", fontsize=SMALL,
                    color="#333333", zorder=3)
    return fig


def _box(ax, x: float, y: float, w: float, h: float, face: str, edge: str, lw: float = 0.7) -> None:
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=3", facecolor=face,
                                edgecolor=edge, linewidth=lw, zorder=1))


def driver_figures(data: dict, folder: Path, ids: list[str]) -> dict[str, str]:
    """A driver diagram per question of ``ids`` that has claim drivers, as ``drivers_<qid>.svg`` in ``folder``
    (written by :func:`forecast.report.figures.save`); returns {name: file name} for the template."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for qid in ids:
        if qid not in data["sensitivity"]["questions"]:
            continue
        d = driver_data(data, qid)
        if d["drivers"]:
            out[f"drivers_{qid}"] = save(draw_drivers(d), folder / f"drivers_{qid}.svg").name
    return out
