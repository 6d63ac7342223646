"""The causal map: variables as boxes, claims as arrows (networkx + matplotlib, no graphviz).

Layout (:func:`layout`, plain data, tested without drawing): variables sit in
columns by topological depth (longest claim path from a root), ordered inside a
column by the barycentre of their neighbours (a few sweeps both ways, ties by
id) and spread evenly over the height; labels are wrapped so every box fits its
slot. Arrows are coloured by source, widened by the strength word's typical
effect, drawn solid with a head for "raises" and dashed with a bar for
"lowers", and pass behind the boxes so that no label is covered.
"""

from __future__ import annotations

import textwrap

import networkx as nx
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch

SOURCE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
WRAP = 22
FONT = 6.3


def graph(data: dict) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(n["id"] for n in data["nodes"])
    g.add_edges_from((e["cause"], e["effect"]) for e in data["edges"])
    return g


def layout(data: dict, sweeps: int = 6) -> dict:
    """Column, row and (x, y) in [0, 1]² of every node; wrapped labels.

    Returns ``{"pos": {id: (x, y)}, "layer": {id: k}, "layers": [[ids]], "labels": {id: text}}``.
    """
    g = graph(data)
    order = [n for n in data["order"] if n in g] or sorted(nx.topological_sort(g))
    depth: dict[str, int] = {}
    for v in order:
        depth[v] = max((depth[u] + 1 for u in g.predecessors(v)), default=0)
    for v in reversed(order):  # roots move right, next to their first child
        if g.in_degree(v) == 0 and g.out_degree(v):
            depth[v] = min(depth[w] for w in g.successors(v)) - 1
    n_layers = max(depth.values(), default=0) + 1
    layers = [sorted(v for v in order if depth[v] == k) for k in range(n_layers)]
    rank = {v: i for layer in layers for i, v in enumerate(layer)}

    def bary(v, neighbours):
        ns = [rank[u] / max(len(layers[depth[u]]) - 1, 1) for u in neighbours(v)]
        return (sum(ns) / len(ns) if ns else rank[v] / max(len(layers[depth[v]]) - 1, 1), v)

    def sweep(ks, neighbours):
        for k in ks:
            layers[k].sort(key=lambda v: bary(v, neighbours))
            rank.update({v: i for i, v in enumerate(layers[k])})

    for _ in range(sweeps):
        sweep(range(1, n_layers), g.predecessors)
        sweep(range(n_layers - 2, -1, -1), g.successors)
    tallest = max((len(x) for x in layers), default=1)
    pos = {}
    for k, layer in enumerate(layers):
        x = (k + 0.5) / n_layers
        for i, v in enumerate(layer):
            y = 1 - (i + 0.5 + (tallest - len(layer)) / 2) / tallest
            pos[v] = (x, y)
    labels = {n["id"]: textwrap.fill(n["label"], WRAP) for n in data["nodes"]}
    return {"pos": pos, "layer": depth, "layers": layers, "labels": labels, "tallest": tallest}


def draw(data: dict, width: float = 9.6, height: float | None = None) -> Figure:
    """The map as a matplotlib Figure (inches: ``width`` by ``height``)."""
    lay = layout(data)
    height = height or min(5.6, max(3.5, 0.6 * lay["tallest"] + 0.6))
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.0, 0.07, 1.0, 0.93))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    colours = {s["id"]: SOURCE_COLOURS[i % len(SOURCE_COLOURS)] for i, s in enumerate(data["sources"])}
    kinds = {n["id"]: n for n in data["nodes"]}
    texts = {}
    for v, (x, y) in lay["pos"].items():
        n = kinds[v]
        face = "#fff2cc" if n["observed"] else "white"
        style = "round,pad=0.35,rounding_size=0.6" if n["kind"] == "index" else "square,pad=0.35"
        texts[v] = ax.text(x, y, lay["labels"][v], ha="center", va="center", fontsize=FONT, zorder=3,
                           fontweight="bold" if n["asked"] else "normal", linespacing=1.1,
                           bbox={"boxstyle": style, "facecolor": face, "linewidth": 1.4 if n["observed"] else 0.6,
                                 "edgecolor": "#7f6000" if n["observed"] else "#555555"})
    seen: dict[tuple[str, str], int] = {}
    for e in sorted(data["edges"], key=lambda e: e["id"]):
        a, b = e["cause"], e["effect"]
        k = seen.get((a, b), 0)
        seen[(a, b)] = k + 1
        lowers = e["sign"] < 0
        arrow = FancyArrowPatch(
            lay["pos"][a], lay["pos"][b], patchA=texts[a].get_bbox_patch(), patchB=texts[b].get_bbox_patch(),
            arrowstyle="-[,widthB=0.4,lengthB=0.0" if lowers else "-|>,head_length=0.6,head_width=0.28",
            connectionstyle=f"arc3,rad={0.08 + 0.12 * k}", linestyle=(0, (3, 1.5)) if lowers else "-",
            color=colours.get(e["source"], "black"), linewidth=0.35 + 0.55 * e["strength"],
            alpha=0.35 + 0.55 * e["credence"], zorder=1, shrinkA=1, shrinkB=1.5, mutation_scale=10.0,
        )
        ax.add_patch(arrow)
    handles = [Line2D([], [], color=colours[s["id"]], lw=1.6, label=f"{s['id']} ({s['grade']})")
               for s in data["sources"]]
    handles += [Line2D([], [], color="#444444", lw=1.0, label="raises"),
                Line2D([], [], color="#444444", lw=1.0, ls=(0, (3, 1.5)), label="lowers"),
                Patch(facecolor="#fff2cc", edgecolor="#7f6000", label="observed"),
                Patch(facecolor="white", edgecolor="#555555", label="event (square), index (round); bold: asked")]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=6.5, frameon=False,
               handlelength=2.2, columnspacing=1.4)
    return fig  # save it twice (see figures.save): the first pass sizes the boxes the arrows stop at


def label_boxes(fig: Figure) -> list[tuple[float, float, float, float]]:
    """Display-space extents (x0, y0, x1, y1) of every node box, after drawing (for overlap tests)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    out = []
    for t in fig.axes[0].texts:
        bb = t.get_bbox_patch().get_window_extent(renderer)
        out.append((bb.x0, bb.y0, bb.x1, bb.y1))
    return out
