"""Legibility checks read from a figure's own layout: which texts overlap, which the edge cuts, how small the
smallest lettering is once the figure is placed on the page.

The figure is drawn on an Agg canvas; every Text artist the renderer actually draws (titles, labels, tick
labels, annotations, legend entries, texts in boxes) is recorded as it is drawn, so ticks outside the view and
empty strings do not count. A text drawn in a box (``bbox=``) counts with its box. Extents are in figure
pixels, origin bottom left, at the figure's dpi.
"""

from __future__ import annotations

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

CM_PER_INCH = 2.54
PAD_INCHES = 0.03  # figures.save's pad around the tight bounding box

Box = tuple[float, float, float, float]


def _drawn(fig: Figure, rc: dict | None = None) -> tuple[list[Text], object]:
    """The Text artists the renderer draws, in drawing order, and the renderer.

    A first pass creates the ticks an axis makes while drawing; then each Text's ``draw`` is wrapped on the
    instance for a second pass, recording those that are visible, non-empty and actually asked to draw.
    """
    with mpl.rc_context(rc or {}):
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        seen: list[Text] = []
        wrapped = [t for t in fig.findobj(Text) if "draw" not in vars(t)]

        def recorder(t: Text):
            def draw(r, *args, **kwargs):
                if t.get_visible() and t.get_text().strip() and all(t is not u for u in seen):
                    seen.append(t)
                return Text.draw(t, r, *args, **kwargs)
            return draw

        for t in wrapped:
            t.draw = recorder(t)
        try:
            fig.draw(renderer)
        finally:
            for t in wrapped:
                del t.draw
    return seen, renderer


def _extent(t: Text, renderer) -> Box:
    bb = t.get_window_extent(renderer)
    patch = t.get_bbox_patch()
    if patch is not None and patch.get_visible():
        pb = patch.get_window_extent(renderer)
        bb = Bbox.union([bb, pb])
    return (float(bb.x0), float(bb.y0), float(bb.x1), float(bb.y1))


def texts(fig: Figure, rc: dict | None = None) -> list[tuple[str, Box, float]]:
    """Every drawn text: its string, its extent (x0, y0, x1, y1) and its font size in points."""
    seen, renderer = _drawn(fig, rc)
    return [(t.get_text(), _extent(t, renderer), float(t.get_fontsize())) for t in seen]


def text_boxes(fig: Figure, rc: dict | None = None) -> list[Box]:
    """Window extents (figure pixels) of every visible, non-empty Text artist the figure draws."""
    return [box for _, box, _ in texts(fig, rc)]


def _meet(a: Box, b: Box, pad: float) -> bool:
    return not (a[2] + pad <= b[0] or b[2] + pad <= a[0] or a[3] + pad <= b[1] or b[3] + pad <= a[1])


def overlaps(fig: Figure, pad: float = 0.0, rc: dict | None = None) -> list[tuple[str, str]]:
    """Pairs of texts whose extents intersect, or come closer than ``pad`` pixels."""
    items = texts(fig, rc)
    return [(items[j][0], items[i][0]) for i in range(len(items)) for j in range(i)
            if _meet(items[i][1], items[j][1], pad)]


def outside(fig: Figure, rc: dict | None = None) -> list[str]:
    """Texts the figure's edge cuts (wholly or partly outside the canvas)."""
    w, h = fig.bbox.width, fig.bbox.height
    eps = 0.5
    return [s for s, (x0, y0, x1, y1), _ in texts(fig, rc)
            if x0 < -eps or y0 < -eps or x1 > w + eps or y1 > h + eps]


def saved_size_inches(fig: Figure, tight: bool = True, rc: dict | None = None) -> tuple[float, float]:
    """Width and height of the written file: the tight bounding box plus ``figures.save``'s pad, or the canvas."""
    if not tight:
        return fig.get_figwidth(), fig.get_figheight()
    _, renderer = _drawn(fig, rc)
    bb = fig.get_tightbbox(renderer)
    return bb.width + 2 * PAD_INCHES, bb.height + 2 * PAD_INCHES


def smallest_font_pt(fig: Figure, placed_width_cm: float, placed_height_cm: float | None = None,
                     tight: bool = True, rc: dict | None = None) -> float:
    """The smallest drawn font size, in points, once the written figure is scaled to ``placed_width_cm``
    (or, given ``placed_height_cm`` too, to fit inside that box keeping its aspect, as Typst's
    ``fit: "contain"`` does)."""
    w, h = saved_size_inches(fig, tight, rc)
    scale = placed_width_cm / CM_PER_INCH / w
    if placed_height_cm is not None:
        scale = min(scale, placed_height_cm / CM_PER_INCH / h)
    sizes = [size for _, _, size in texts(fig, rc)]
    return min(sizes) * scale if sizes else float("inf")
