"""The brief's charts, drawn from the plain data of :func:`forecast.analyses.brief.collect`.

Every function takes that data and returns a matplotlib ``Figure`` (no pyplot
state); :func:`save` writes it as SVG with text as paths (no font needed by the
reader) and no date, so the same data give the same file.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from forecast.report.text import pct

WIDTH = 6.5  # inches: the text width of both paper sizes
BAND_COLOURS = ("#2166ac", "#4393c3", "#92c5de", "#e0e0e0", "#f4a582", "#d6604d", "#b2182b")
FAN_COLOUR = "#3f3f3f"  # neutral over the ICD 203 bands' blues and reds
STANCE_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")
STANCE_COLOURS = ("#000000", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
RC = {"font.size": 7.5, "axes.titlesize": 8, "axes.labelsize": 7.5, "xtick.labelsize": 7, "ytick.labelsize": 7,
      "svg.fonttype": "path", "svg.hashsalt": "forecast-brief", "axes.spines.top": False,
      "axes.spines.right": False, "font.family": "DejaVu Sans"}


def save(fig: Figure, path: str | Path, twice: bool = False) -> Path:
    """SVG at ``path``; ``twice``: drawn once before, so that arrows clipped to label boxes (the causal map)
    see the boxes' final size."""
    with mpl.rc_context(RC):
        if twice:
            fig.savefig(io.BytesIO(), format="svg")
        fig.savefig(path, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.03)
    return Path(path)


def wrap(text: str, width: int) -> str:
    return textwrap.fill(text, width, break_long_words=False)


def _bands(ax, words: dict[str, list[float]], label: bool = True) -> None:
    items = sorted(words.items(), key=lambda kv: kv[1][0])
    for i, (word, (lo, hi)) in enumerate(items):
        colour = BAND_COLOURS[round(i * (len(BAND_COLOURS) - 1) / max(len(items) - 1, 1))]
        ax.axvspan(100 * lo, 100 * hi, color=colour, alpha=0.16, lw=0, zorder=0)
        if label:
            ax.text(100 * (lo + hi) / 2, 1.005, word.replace(" ", "\n"), transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=5.6, color="#333333", linespacing=0.95)


def probabilities(data: dict) -> Figure:
    """Dot and whisker: every question's probability and interval, sorted, on the ICD 203 bands."""
    rows = sorted(data["judgments"], key=lambda j: (j["mean"], j["id"]))
    with mpl.rc_context(RC):
        fig = Figure(figsize=(WIDTH, 0.9 + 0.27 * len(rows)))
        ax = fig.add_subplot()
        _bands(ax, data["words"])
        y = np.arange(len(rows))
        for i, j in enumerate(rows):
            ax.plot([100 * j["lo"], 100 * j["hi"]], [i, i], color="#333333", lw=1.1, solid_capstyle="butt")
            ax.plot(100 * j["mean"], i, "o", color="black", ms=3.6, zorder=3)
            ax.text(101.5, i, pct(j["mean"]), va="center", fontsize=6.5, clip_on=False)
        ax.set_yticks(y, [wrap(f"{j['id']}: {j['short']}", 58) for j in rows], fontsize=6.4)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlim(0, 100)
        ax.set_xlabel(f"probability (%), dot: mean, line: {round(100 * data['title']['interval'])}% interval")
        ax.grid(axis="x", color="white", lw=0.6)
        h = fig.get_figheight()
        fig.subplots_adjust(left=0.42, right=0.95, top=1 - 0.45 / h, bottom=0.45 / h)
    return fig


def indices(data: dict) -> Figure:
    """Small multiples: the distribution over draws of each main index level."""
    items = data["indices"]
    cols = 2
    rows = max(1, -(-len(items) // cols))
    with mpl.rc_context(RC):
        fig = Figure(figsize=(WIDTH, 0.35 + 1.25 * rows))
        axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
        edges = np.linspace(0, 1, len(items[0]["hist"]) + 1) if items else np.linspace(0, 1, 2)
        for ax, d in zip(axes.flat, items, strict=False):
            h = np.asarray(d["hist"])
            ax.stairs(h, edges, fill=True, color="#9ecae1", alpha=0.9)
            ax.axvspan(d["lo"], d["hi"], color="#08519c", alpha=0.08, lw=0)
            ax.axvline(d["mean"], color="#08519c", lw=1.0)
            ax.set_title(wrap(d["label"], 52), loc="left", fontsize=7)
            ax.text(0.99, 0.93, f"mean {d['mean']:.2f}\n{round(100 * data['title']['interval'])}%: "
                    f"{d['lo']:.2f}–{d['hi']:.2f}", transform=ax.transAxes, ha="right", va="top", fontsize=6.2)
            ax.set_yticks([])
            ax.spines["left"].set_visible(False)
            ax.set_xlim(0, 1)
        for ax in list(axes.flat)[len(items):]:
            ax.axis("off")
        for ax in axes[-1]:
            ax.set_xlabel("level (0 to 1)")
        fig.tight_layout(h_pad=0.8, w_pad=1.2)
    return fig


def tornado(q: dict, label: str) -> Figure:
    """One key judgment: each input from its low to its high setting, widest swing on top."""
    bars = q["bars"][::-1]
    p0 = 100 * q["baseline"]
    with mpl.rc_context(RC):
        fig = Figure(figsize=(WIDTH, 0.6 + 0.27 * max(len(bars), 1)))
        ax = fig.add_subplot()
        for i, b in enumerate(bars):
            lo, hi = 100 * b["low"], 100 * b["high"]
            ax.barh(i, lo - p0, left=p0, color="#92c5de", height=0.6)
            ax.barh(i, hi - p0, left=p0, color="#d6604d", height=0.6, alpha=0.85)
            for x in (lo, hi):
                ax.text(x + (0.4 if x >= p0 else -0.4), i, pct(x / 100), va="center",
                        ha="left" if x >= p0 else "right", fontsize=6, color="#333333")
        ax.axvline(p0, color="black", lw=0.8)
        ax.set_yticks(range(len(bars)), [wrap(f"{b['label']} [{_setting(b)}]", 62) for b in bars], fontsize=6.1)
        span = max([abs(100 * v - p0) for b in bars for v in (b["low"], b["high"])] + [3.0])
        ax.set_xlim(max(0, p0 - 1.25 * span - 2), min(100, p0 + 1.25 * span + 2))
        ax.set_xlabel(f"probability (%) of {label}, baseline {pct(q['baseline'])}\n"
                      "blue: the input at its low setting, red: at its high setting")
        fig.subplots_adjust(left=0.5, right=0.97, top=0.97, bottom=0.62 / fig.get_figheight())
    return fig


def _setting(b: dict) -> str:
    """"credence 5%" and "credence 95%" → "credence 5% → 95%"."""
    (p1, _, lo), (p2, _, hi) = b["low_text"].rpartition(" "), b["high_text"].rpartition(" ")
    return f"{p1} {lo} → {hi}" if p1 == p2 else f"{b['low_text']} → {b['high_text']}"


def reliability(data: dict) -> Figure:
    """The reliability diagram of ``forecast score``'s document: per prior set, per ICD 203 band, the mean
    forecast against how often the event happened (dot area: the number of forecasts), on the diagonal of
    perfect calibration, over the bands."""
    sets = data["prior_sets"]
    fig = Figure(figsize=(WIDTH * 0.6, WIDTH * 0.6))
    with mpl.rc_context(RC):
        ax = fig.subplots()
        _bands(ax, {r["word"]: r["band"] for ps in sets for r in ps["calibration"]}, label=False)
        ax.plot([0, 100], [0, 100], color="#888888", lw=0.8, ls="--", label="perfectly calibrated")
        for i, ps in enumerate(sets):
            rows = ps["calibration"]
            ax.scatter([100 * r["forecast"] for r in rows], [100 * r["happened"] for r in rows],
                       s=[18 * r["n"] for r in rows], marker=STANCE_MARKERS[i % len(STANCE_MARKERS)],
                       color=STANCE_COLOURS[i % len(STANCE_COLOURS)], alpha=0.8, label=ps["priors"], zorder=3)
        ax.set_xlim(0, 100)
        ax.set_ylim(-3, 103)
        ax.set_xlabel("forecast (%), mean within each ICD 203 band")
        ax.set_ylabel("happened (%)")
        ax.set_title(f"{data['model']}: {data['resolved']} resolved questions")
        ax.legend(loc="lower right", fontsize=6, frameon=False)
    return fig


def fan(data: dict) -> Figure:
    """``forecast history``'s fan chart of one question (:func:`forecast.analyses.history_data.fan`): the median of its
    per-draw probability at each date with the central 50% and outer bands, over the ICD 203 bands; the evidence
    dates as ticks along the bottom; the outcome, where recorded, as a marker at the date the question resolves."""
    dates = data["dates"]
    scale = 1.0 if data["level"] else 100.0
    with mpl.rc_context(RC):
        fig = Figure(figsize=(WIDTH, 3.0))
        ax = fig.add_subplot()
        if not data["level"]:
            items = sorted(data["words"].items(), key=lambda kv: kv[1][0])
            for i, (word, (lo, hi)) in enumerate(items):
                colour = BAND_COLOURS[round(i * (len(BAND_COLOURS) - 1) / max(len(items) - 1, 1))]
                ax.axhspan(100 * lo, 100 * hi, color=colour, alpha=0.12, lw=0, zorder=0)
                ax.text(1.005, 50 * (lo + hi), word, transform=ax.get_yaxis_transform(), va="center", ha="left",
                        fontsize=5.6, color="#333333")
        outer = np.asarray(data["outer"]) * scale
        inner = np.asarray(data["inner"]) * scale
        ax.fill_between(dates, outer[:, 0], outer[:, 1], color=FAN_COLOUR, alpha=0.2, lw=0,
                        label=f"{round(100 * data['outer_level'])}% interval")
        ax.fill_between(dates, inner[:, 0], inner[:, 1], color=FAN_COLOUR, alpha=0.4, lw=0,
                        label=f"{round(100 * data['inner_level'])}% interval")
        ax.plot(dates, np.asarray(data["median"]) * scale, color="black", lw=1.2, marker="o", ms=2.2,
                label="median")
        last = max([dates[-1]] + ([data["resolves_by"]] if data["outcome"] is not None else []))
        seen = [d for d, _ in data["evidence"] if dates[0] <= d <= last]
        if seen:
            ax.plot(seen, [0.0] * len(seen), "|", color="#b2182b", ms=9, mew=1.1, clip_on=False,
                    transform=ax.get_xaxis_transform(), label="evidence dated", zorder=4)
        if data["outcome"] is not None:
            y = data["outcome"] * 100.0 if not data["level"] else data["outcome"]
            ax.plot([data["resolves_by"]], [y], marker="*", ms=9, color="black", ls="none", zorder=5,
                    label="happened" if data["outcome"] else "did not happen", clip_on=False)
        if last > dates[0]:
            ax.set_xlim(dates[0], last)
        ax.set_ylim(0, scale)
        ax.set_ylabel("level" if data["level"] else "probability (%)")
        ax.set_title(wrap(f"{data['id']}: {data['text']}", 95), loc="left", pad=16)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=6, frameon=False, ncol=5, borderaxespad=0.2)
        fig.autofmt_xdate()
    return fig


def fan_charts(fans: list[dict], folder: str | Path) -> list[Path]:
    """A fan chart (:func:`fan`) per question as ``<question id>.png`` in ``folder``, each written atomically."""
    from forecast.spec.outputs import write_atomic

    return [write_atomic(Path(folder) / f"{d['id']}.png", png(fan(d))) for d in fans]


def png(fig: Figure, dpi: int = 200) -> bytes:
    """``fig`` as PNG bytes (to be written atomically by the caller)."""
    buf = io.BytesIO()
    with mpl.rc_context(RC):
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def all_figures(data: dict, folder: Path) -> dict[str, str]:
    """Every chart of the brief as SVG in ``folder``; returns {name: file name} for the template."""
    from forecast.report.causal_map import draw
    from forecast.report.drivers import driver_figures

    folder.mkdir(parents=True, exist_ok=True)
    out = {"probabilities": probabilities(data), "map": draw(data["map"])}
    if data["indices"]:
        out["indices"] = indices(data)
    short = {j["id"]: j["short"] for j in data["judgments"]}
    for qid, q in data["sensitivity"]["questions"].items():
        if q["bars"]:
            out[f"tornado_{qid}"] = tornado(q, f"{qid}: {short[qid]}")
    if data.get("record"):
        out["reliability"] = reliability(data["record"])
    names = {name: save(fig, folder / f"{name}.svg", twice=name == "map").name for name, fig in out.items()}
    return names | driver_figures(data, folder, data["key"])
