"""The causal map: variables as boxes, claims as arrows (networkx + matplotlib, no graphviz).

A layered (Sugiyama) drawing written here in plain Python rather than taken from a library: the graphs are
small (tens of boxes), Graphviz is a system package the project cannot assume, and the one pip-installable
layered-layout library (grandalf) would still leave the box sizes, ports and curves to us.

Layout (:func:`layout`, plain data, tested without drawing):

1. **Ranks.** A variable's column is its longest claim path from a root; a root with children moves right, next
   to its first child, so that its arrows are short. Causes are on the left.
2. **Long arrows.** A claim that skips columns gets a waypoint (a "dummy") in every column it crosses, so that
   it runs through a gap between boxes instead of behind one.
3. **Order.** Inside each column, boxes and waypoints are ordered to cut crossings: barycentre sweeps down and
   up (each item to the mean position of its neighbours in the column before, then after), each followed by
   adjacent swaps that lower the crossing count (the "transpose" heuristic); the best order seen is kept.
   :func:`crossings` counts crossings between adjacent columns, the usual measure; the test compares it with a
   plain alphabetical order.
4. **Heights.** Each column is stacked top to bottom with fixed gaps; then, a few times, every item moves
   towards the mean height of its neighbours as far as the gaps and the frame allow (the least-squares fit
   under ordering constraints: an isotonic regression, pool adjacent violators), so that chains of arrows
   straighten.

Drawing (:func:`draw`): the figure is sized for an A4 landscape page (26.7 cm usable width, about 15 cm under
the heading and note), its lettering at :data:`FONT` points or more at that size; labels are wrapped to the
column width as measured by the renderer. An arrow leaves its cause's right edge and enters its effect's left
edge at its own port (ports ordered by where the arrow comes from or goes, so arrows at one box do not cross
there), and curves through its waypoints. Arrows are coloured by source, widened by the strength word's typical
effect, drawn solid with a head for "raises" and dashed with a bar for "lowers", and pass behind the boxes.
"""

from __future__ import annotations

import textwrap

import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch
from matplotlib.path import Path

SOURCE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
MAP_WIDTH = 10.4  # inches: 26.4 cm, the A4 landscape text width less figures.save's pad
MAP_HEIGHT = 5.8  # inches: 14.7 cm, the page's height under the heading and the note
FONT = 7.2  # points, at MAP_WIDTH: the smallest lettering on the map
PAD = 0.3  # box padding, in font sizes
CORRIDOR = 30.0  # points: the least room between two columns of boxes, for the arrows
GAP = 5.0  # points between two boxes of a column (shrunk to MIN_GAP when a column is tall)
MIN_GAP = 2.5
LANE = 3.5  # points between an arrow passing through a column and its neighbours
WRAP = 22  # characters: the widest wrap tried; narrower when the measured box is too wide


def graph(data: dict) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(n["id"] for n in data["nodes"])
    g.add_edges_from((e["cause"], e["effect"]) for e in data["edges"])
    return g


def ranks(data: dict) -> dict[str, int]:
    """Each variable's column: its longest path from a root; roots with children next to their first child."""
    g = graph(data)
    order = [n for n in data.get("order", []) if n in g]
    order = order if len(order) == len(g) else list(nx.lexicographical_topological_sort(g))
    depth: dict[str, int] = {}
    for v in order:
        depth[v] = max((depth[u] + 1 for u in g.predecessors(v)), default=0)
    for v in reversed(order):
        if g.in_degree(v) == 0 and g.out_degree(v):
            depth[v] = min(depth[w] for w in g.successors(v)) - 1
    low = min(depth.values(), default=0)
    return {v: k - low for v, k in depth.items()}


def _chains(data: dict, depth: dict[str, int]) -> dict[str, list[str]]:
    """Each claim's items from cause to effect, a waypoint ``~<claim id>~<column>`` in every column skipped."""
    return {e["id"]: [e["cause"], *(f"~{e['id']}~{k}" for k in range(depth[e["cause"]] + 1, depth[e["effect"]])),
                      e["effect"]] for e in data["edges"]}


def crossings(layers: list[list[str]], chains: dict[str, list[str]]) -> int:
    """Arrow crossings between adjacent columns of ``layers`` (long arrows through their waypoints)."""
    pos = {v: i for layer in layers for i, v in enumerate(layer)}
    by_gap: dict[int, list[tuple[int, int]]] = {}
    col = {v: k for k, layer in enumerate(layers) for v in layer}
    for chain in chains.values():
        for a, b in zip(chain, chain[1:], strict=False):
            by_gap.setdefault(col[a], []).append((pos[a], pos[b]))
    total = 0
    for segs in by_gap.values():
        s = np.array(segs)
        if len(s) < 2:
            continue
        da = np.sign(s[:, None, 0] - s[None, :, 0])
        db = np.sign(s[:, None, 1] - s[None, :, 1])
        total += int((da * db < 0).sum()) // 2
    return total


def _neighbours(chains: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for chain in chains.values():
        for a, b in zip(chain, chain[1:], strict=False):
            down.setdefault(a, []).append(b)
            up.setdefault(b, []).append(a)
    return up, down


def _plain_key(v: str, chains: dict[str, list[str]]) -> tuple[str, str]:
    if v.startswith("~"):
        claim = v.split("~")[1]
        return (chains[claim][0], v)
    return (v, "")


def _order(layers: list[list[str]], chains: dict[str, list[str]], sweeps: int) -> list[list[str]]:
    up, down = _neighbours(chains)
    layers = [list(x) for x in layers]
    best, fewest = [list(x) for x in layers], crossings(layers, chains)

    def rank() -> dict[str, int]:
        return {v: i for layer in layers for i, v in enumerate(layer)}

    def sort_by(k: int, nbrs: dict[str, list[str]]) -> None:
        r = rank()
        key = {v: (np.mean([r[u] for u in nbrs[v]]) if nbrs.get(v) else r[v]) for v in layers[k]}
        layers[k].sort(key=lambda v: key[v])

    def cost(u: str, v: str, r: dict[str, int]) -> int:
        """Crossings between u's and v's arrows (both sides) when u sits above v."""
        c = 0
        for nbrs in (up, down):
            c += sum(1 for a in nbrs.get(u, ()) for b in nbrs.get(v, ()) if r[a] > r[b])
        return c

    def transpose() -> None:
        better = True
        while better:
            better = False
            for layer in layers:
                r = rank()
                for i in range(len(layer) - 1):
                    u, v = layer[i], layer[i + 1]
                    if cost(v, u, r) < cost(u, v, r):
                        layer[i], layer[i + 1] = v, u
                        r[u], r[v] = i + 1, i
                        better = True

    for _ in range(sweeps):
        for k in range(1, len(layers)):
            sort_by(k, up)
        transpose()
        for k in range(len(layers) - 2, -1, -1):
            sort_by(k, down)
        transpose()
        c = crossings(layers, chains)
        if c < fewest:
            best, fewest = [list(x) for x in layers], c
    return best


def wrap(label: str, width: int = WRAP) -> str:
    return textwrap.fill(label, width, break_long_words=False)


def _estimate(label: str, font: float = FONT) -> tuple[float, float]:
    """A box's width and height in points without a renderer (DejaVu Sans: about 0.6 em a character)."""
    lines = label.split("\n")
    pad = 2 * PAD * font
    return 0.6 * font * max(len(x) for x in lines) + pad, 1.2 * font * len(lines) + pad


def _isotonic(d: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The nondecreasing z nearest ``d`` (least squares; pool adjacent violators), clipped to [lo, hi]."""
    blocks: list[list[float]] = []  # [mean, count]
    for x in d:
        blocks.append([float(x), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, n2 = blocks.pop()
            m1, n1 = blocks.pop()
            blocks.append([(m1 * n1 + m2 * n2) / (n1 + n2), n1 + n2])
    z = np.concatenate([[m] * int(n) for m, n in blocks]) if blocks else np.zeros(0)
    return np.clip(z, lo, max(lo, hi))


def layout(data: dict, sizes: dict[str, tuple[float, float]] | None = None, width: float = MAP_WIDTH * 72,
           height: float = MAP_HEIGHT * 72, sweeps: int = 8, plain: bool = False) -> dict:
    """Where every box and waypoint goes, in points (origin bottom left of a ``width`` × ``height`` frame).

    ``sizes``: each variable's box (width, height) in points (by default estimated from its wrapped label);
    ``plain``: keep every column in alphabetical order (the baseline the crossing test compares with).

    Returns ``{"layer": {id: column}, "layers": [[ids and waypoints, top to bottom]], "chains": {claim: [items]},
    "x": [column centres], "y": {item: height}, "sizes": {id: (w, h)}, "labels": {id: wrapped},
    "crossings": n, "fits": bool, "pos": {id: (x, y) in [0, 1]²}, "tallest": n}``.
    """
    depth = ranks(data)
    chains = _chains(data, depth)
    n_layers = max(depth.values(), default=0) + 1
    items = list(depth) + [v for c in chains.values() for v in c[1:-1]]
    col = {**depth, **{v: int(v.rsplit("~", 1)[1]) for v in items if v.startswith("~")}}
    layers = [sorted((v for v in items if col[v] == k), key=lambda v: _plain_key(v, chains)) for k in range(n_layers)]
    if not plain:
        layers = _order(layers, chains, sweeps)
    labels = {n["id"]: wrap(n["label"]) for n in data["nodes"]}
    sizes = sizes or {v: _estimate(labels[v]) for v in depth}
    x = [(k + 0.5) * width / n_layers for k in range(n_layers)]

    def sep(a: str, b: str, gap: float) -> float:
        ha = sizes[a][1] / 2 if a in sizes else 0.0
        hb = sizes[b][1] / 2 if b in sizes else 0.0
        return ha + hb + (gap if a in sizes and b in sizes else LANE)

    def extent(layer: list[str], gap: float) -> float:
        ends = (sizes.get(layer[0], (0, 0))[1] + sizes.get(layer[-1], (0, 0))[1]) / 2 if layer else 0.0
        return ends + sum(sep(a, b, gap) for a, b in zip(layer, layer[1:], strict=False))

    gap = GAP
    while gap > MIN_GAP and max(extent(layer, gap) for layer in layers) > height:
        gap -= 0.25
    fits = max(extent(layer, gap) for layer in layers) <= height + 1e-9
    # t: distance from the top. A column starts stacked and centred, then follows its neighbours.
    t: dict[str, float] = {}
    offsets: list[np.ndarray] = []
    for layer in layers:
        o = np.concatenate([[0.0], np.cumsum([sep(a, b, gap) for a, b in zip(layer, layer[1:], strict=False)])])
        offsets.append(o)
        top = (height - extent(layer, gap)) / 2 + sizes.get(layer[0], (0, 0))[1] / 2 if layer else 0.0
        t.update({v: top + o[i] for i, v in enumerate(layer)})
    up, down = _neighbours(chains)

    def settle(k: int, nbrs: list[dict[str, list[str]]]) -> None:
        layer = layers[k]
        if not layer:
            return
        want = np.array([np.mean([t[u] for n in nbrs for u in n.get(v, ())]) if any(n.get(v) for n in nbrs)
                         else t[v] for v in layer])
        o = offsets[k]
        lo = sizes.get(layer[0], (0, 0))[1] / 2
        hi = height - sizes.get(layer[-1], (0, 0))[1] / 2 - o[-1]
        z = _isotonic(want - o, lo, hi)
        t.update({v: float(z[i] + o[i]) for i, v in enumerate(layer)})

    for _ in range(6):
        for k in range(1, n_layers):
            settle(k, [up])
        for k in range(n_layers - 2, -1, -1):
            settle(k, [down])
    for _ in range(2):
        for k in range(n_layers):
            settle(k, [up, down])
    y = {v: height - tv for v, tv in t.items()}
    pos = {v: (x[depth[v]] / width, y[v] / height) for v in depth}
    return {"layer": depth, "layers": layers, "chains": chains, "x": x, "y": y, "sizes": sizes, "labels": labels,
            "crossings": crossings(layers, chains), "fits": fits, "needed": max(extent(layer, gap) for layer in layers),
            "pos": pos, "width": width, "height": height,
            "tallest": max((sum(1 for v in layer if v in depth) for layer in layers), default=1)}


def _measure(fig: Figure, texts: dict, renderer) -> dict[str, tuple[float, float]]:
    k = 72.0 / fig.dpi
    out = {}
    for v, t in texts.items():
        bb = t.get_window_extent(renderer)
        pad = 2 * PAD * t.get_fontsize()
        out[v] = (bb.width * k + pad, bb.height * k + pad)
    return out


def _legend(fig: Figure, handles: list, width_px: float, renderer):
    """The key under the map, in as many columns as fit the width."""
    for ncol in range(len(handles), 0, -1):
        leg = fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=FONT, frameon=False,
                         handlelength=2.0, columnspacing=1.2, borderaxespad=0.1, bbox_to_anchor=(0.5, 0.0))
        if leg.get_window_extent(renderer).width <= 0.98 * width_px or ncol == 1:
            return leg
        leg.remove()
    return None


def _curve(points: list[tuple[float, float]]) -> Path:
    """Through ``points`` pairwise: a horizontal-tangent cubic from each exit to the next entry, then straight
    across a column (the pairs (entry, exit) of the waypoints)."""
    verts = [points[0]]
    codes = [Path.MOVETO]
    for i in range(0, len(points) - 1, 2):
        (x0, y0), (x1, y1) = points[i], points[i + 1]
        dx = (x1 - x0) / 2
        verts += [(x0 + dx, y0), (x1 - dx, y1), (x1, y1)]
        codes += [Path.CURVE4] * 3
        if i + 2 < len(points):
            verts.append(points[i + 2])
            codes.append(Path.LINETO)
    return Path(verts, codes)


def draw(data: dict, width: float = MAP_WIDTH, height: float = MAP_HEIGHT) -> Figure:
    """The map as a matplotlib Figure (inches: ``width`` by ``height``), lettering at :data:`FONT` points.

    A map whose tallest column cannot fit ``height`` gets a taller figure (no box over another; the page then
    shrinks it, and its lettering with it). ``fig.map_layout`` keeps the :func:`layout` drawn (for tests).
    """
    fig = Figure(figsize=(width, height))
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.axis("off")
    colours = {s["id"]: SOURCE_COLOURS[i % len(SOURCE_COLOURS)] for i, s in enumerate(data["sources"])}
    handles = [Line2D([], [], color=colours[s["id"]], lw=1.6, label=f"{s['id']} ({s['grade']})")
               for s in data["sources"]]
    handles += [Line2D([], [], color="#444444", lw=1.0, label="raises"),
                Line2D([], [], color="#444444", lw=1.0, ls=(0, (3, 1.5)), label="lowers"),
                Patch(facecolor="#fff2cc", edgecolor="#7f6000", label="observed"),
                Patch(facecolor="white", edgecolor="#555555", label="event (square), index (round); bold: asked")]
    leg = _legend(fig, handles, fig.bbox.width, renderer)
    key = (leg.get_window_extent(renderer).height * 72 / fig.dpi + 4) if leg else 0.0
    w_pt, h_pt = width * 72, height * 72 - key
    ax.set_position((0.0, key / (height * 72), 1.0, 1 - key / (height * 72)))
    ax.set_xlim(0, w_pt)
    ax.set_ylim(0, h_pt)
    nodes = {n["id"]: n for n in data["nodes"]}
    n_layers = max(ranks(data).values(), default=0) + 1
    room = w_pt / n_layers - CORRIDOR
    texts = {}
    for v, n in nodes.items():
        face = "#fff2cc" if n["observed"] else "white"
        style = "round,pad={p},rounding_size=0.6" if n["kind"] == "index" else "square,pad={p}"
        texts[v] = ax.text(0, 0, "", ha="center", va="center", fontsize=FONT, zorder=3,
                           fontweight="bold" if n["asked"] else "normal", linespacing=1.1,
                           bbox={"boxstyle": style.format(p=PAD), "facecolor": face,
                                 "linewidth": 1.4 if n["observed"] else 0.6,
                                 "edgecolor": "#7f6000" if n["observed"] else "#555555"})
        for chars in range(WRAP, 7, -1):  # the widest wrap whose box fits the column
            texts[v].set_text(wrap(n["label"], chars))
            if texts[v].get_window_extent(renderer).width * 72 / fig.dpi + 2 * PAD * FONT <= room:
                break
    sizes = _measure(fig, texts, renderer)
    lay = layout(data, sizes, w_pt, h_pt)
    if not lay["fits"]:  # too tall a column for the page: a taller figure, which the page will shrink
        height += (lay["needed"] - h_pt) / 72 + 0.1
        fig.set_size_inches(width, height)
        h_pt = height * 72 - key
        ax.set_position((0.0, key / (height * 72), 1.0, 1 - key / (height * 72)))
        ax.set_ylim(0, h_pt)
        lay = layout(data, sizes, w_pt, h_pt)
    lay["labels"] = {v: t.get_text() for v, t in texts.items()}
    x, y = lay["x"], lay["y"]
    for v, t in texts.items():
        t.set_position((x[lay["layer"][v]], y[v]))
    half = [max((sizes[v][0] / 2 for v in layer if v in sizes), default=0.0) for layer in lay["layers"]]
    col = {v: k for k, layer in enumerate(lay["layers"]) for v in layer}
    # ports: arrows leave (enter) a box at heights ordered by where they go (come from)
    outs: dict[str, list[str]] = {}
    ins: dict[str, list[str]] = {}
    for cid, chain in lay["chains"].items():
        outs.setdefault(chain[0], []).append(cid)
        ins.setdefault(chain[-1], []).append(cid)
    port: dict[tuple[str, str], float] = {}
    for side, table, nxt in (("out", outs, 1), ("in", ins, -2)):
        for v, cids in table.items():
            cids.sort(key=lambda c, n=nxt: (-y[lay["chains"][c][n]], c))
            h = 0.7 * sizes[v][1]
            for i, c in enumerate(cids):
                port[(side, c)] = y[v] + h / 2 - h * (i + 0.5) / len(cids)
    for e in sorted(data["edges"], key=lambda e: e["id"]):
        chain = lay["chains"][e["id"]]
        a, b = chain[0], chain[-1]
        pts = [(x[col[a]] + sizes[a][0] / 2, port[("out", e["id"])])]
        for d in chain[1:-1]:
            pts += [(x[col[d]] - half[col[d]], y[d]), (x[col[d]] + half[col[d]], y[d])]
        pts.append((x[col[b]] - sizes[b][0] / 2, port[("in", e["id"])]))
        lowers = e["sign"] < 0
        head = "-[,widthB=0.35,lengthB=0.0" if lowers else "-|>,head_length=0.5,head_width=0.25"
        ax.add_patch(FancyArrowPatch(
            path=_curve(pts), arrowstyle=head,
            linestyle=(0, (3, 1.5)) if lowers else "-", color=colours.get(e["source"], "black"),
            linewidth=0.35 + 0.55 * e["strength"], alpha=0.35 + 0.55 * e["credence"], zorder=1,
            mutation_scale=10.0))
    fig.map_layout = lay  # the layout drawn, for tests (crossings, fits)
    return fig


def label_boxes(fig: Figure) -> list[tuple[float, float, float, float]]:
    """Display-space extents (x0, y0, x1, y1) of every node box, after drawing (for overlap tests)."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    out = []
    for t in fig.axes[0].texts:
        bb = t.get_bbox_patch().get_window_extent(renderer)
        out.append((bb.x0, bb.y0, bb.x1, bb.y1))
    return out
