"""Checks of the typeset brief's pages, from Typst's own layout data and the page PNGs.

The template applies ``reports/pagemarks.typ`` (``#show: marks``), which leaves invisible
``metadata`` labelled ``<pagemark>`` where things land: each page's size and margins, the start
and end of every heading, paragraph, table, figure and image, of every ``#keep`` block, and where
the annexes start. :func:`marks` reads them back (``typst.query``); :func:`problems` checks them,
and the page PNGs when given, against the reader's complaints:

- a heading in the bottom part of a page with nothing of its section after it on that page;
- a ``#keep`` block (a quote, a judgment, a what-if) split across pages, or running past the foot;
- a page more than a third blank (except the last page and the one before the annexes): from
  the PNG, the part of the text area below its last ink; without PNGs, below the last mark;
- page PNGs rendered at too low a resolution to show every character (at least 200 ppi).

Positions are in points from the page's top left corner; the text area of a page runs from its
top margin to its height less its bottom margin (header and footer lie outside it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

LABEL = "<pagemark>"
FOOT = 0.15  # a heading ending in this bottom share of the text area must have its section below it
BLANK = 1 / 3  # no page (but the exempt ones) may leave more than this share of its text area blank
MIN_PPI = 200.0
INK = 245  # a pixel darker than this grey level (0-255, on white) is ink
DESCENT = 5.0  # pt below a heading's baseline still counted as the heading (its descenders)

STARTS = {"content": "content-end", "heading-start": "heading", "keep-start": "keep-end"}
ENDS = {v: k for k, v in STARTS.items()}


@dataclass(frozen=True)
class Page:
    """A page's height and the top and bottom of its text area (pt)."""

    height: float
    top: float = 0.0
    bottom: float = 0.0

    @property
    def body_top(self) -> float:
        return self.top

    @property
    def body_bottom(self) -> float:
        return self.height - self.bottom

    @property
    def body_height(self) -> float:
        return max(self.body_bottom - self.body_top, 1.0)

    def share(self, y: float) -> float:
        """How far down the text area ``y`` lies (0 at its top, 1 at its foot)."""
        return (y - self.body_top) / self.body_height


def marks(typ_path: str | Path, root: str | Path | None = None) -> list[dict]:
    """The ``<pagemark>`` marks of a Typst document, in document order.

    Compiled as :func:`forecast.report.typeset.compile_pdf` compiles (Typst's embedded fonts only),
    so the positions are those of the PDF.
    """
    import typst

    typ_path = Path(typ_path)
    raw = typst.query(str(typ_path), LABEL, field="value", root=str(root or typ_path.parent),
                      ignore_system_fonts=True)
    return json.loads(raw)


def pages(marks: list[dict], page_heights: list[float] | None = None) -> dict[int, Page]:
    """Each page (1-based) from its "page" mark; ``page_heights`` (pt, page 1 first) where given."""
    out = {m["page"]: Page(float(m["height"]), float(m["top"]), float(m["bottom"]))
           for m in marks if m["kind"] == "page"}
    for i, h in enumerate(page_heights or [], start=1):
        p = out.get(i)
        out[i] = Page(float(h), p.top, p.bottom) if p else Page(float(h))
    return out


def ppi(png_path: str | Path, page_height: float | None = None) -> float:
    """A page PNG's resolution: its pixel height against the page's height (pt), else its pHYs chunk."""
    from PIL import Image

    with Image.open(png_path) as im:
        if page_height:
            return im.height / page_height * 72.0
        dpi = im.info.get("dpi")
    if dpi:
        return float(dpi[1])
    raise ValueError(f"{png_path}: no page height given and no pHYs chunk to read the resolution from")


def ink_rows(png_path: str | Path):
    """For each pixel row of a PNG, whether it holds any ink (a numpy bool array, top row first)."""
    import numpy as np
    from PIL import Image

    with Image.open(png_path) as im:
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        grey = np.asarray(Image.alpha_composite(white, im).convert("L"))
    return (grey < INK).any(axis=1)


def _page_number(path: Path) -> int:
    found = re.findall(r"\d+", path.stem)
    return int(found[-1]) if found else 0


def _spans(marks: list[dict]) -> list[tuple[dict, dict | None]]:
    """Each start mark with its end mark (None when it has none), matched by nesting."""
    out, stack = [], []
    for m in marks:
        if m["kind"] in STARTS:
            stack.append(m)
        elif m["kind"] in ENDS:
            for i in range(len(stack) - 1, -1, -1):
                if stack[i]["kind"] == ENDS[m["kind"]]:
                    out.append((stack[i], m))
                    out.extend((s, None) for s in stack[i + 1:])
                    del stack[i:]
                    break
    out.extend((s, None) for s in stack)
    return out


def _label(m: dict) -> str:
    name = m.get("text") or m.get("name")
    return f"“{name}”" if name else f"at y {m['y']:.0f} pt"


class _Ink:
    """The ink of each page PNG, read once, in points."""

    def __init__(self, pngs: dict[int, Path], sizes: dict[int, Page]):
        self.pngs, self.sizes, self.rows = pngs, sizes, {}

    def __contains__(self, page: int) -> bool:
        return page in self.pngs and page in self.sizes

    def _rows(self, page: int):
        if page not in self.rows:
            self.rows[page] = ink_rows(self.pngs[page])
        return self.rows[page]

    def any_between(self, page: int, y0: float, y1: float) -> bool:
        rows = self._rows(page)
        scale = len(rows) / self.sizes[page].height
        return bool(rows[max(int(y0 * scale), 0):max(int(y1 * scale), 0)].any())

    def last(self, page: int, y0: float, y1: float) -> float | None:
        """The lowest inked point (pt) between ``y0`` and ``y1``, None when there is none."""
        rows = self._rows(page)
        scale = len(rows) / self.sizes[page].height
        a, b = max(int(y0 * scale), 0), max(int(y1 * scale), 0)
        hits = rows[a:b].nonzero()[0]
        return None if len(hits) == 0 else (a + hits[-1] + 1) / scale


def problems(marks: list[dict], page_heights: list[float] | None = None, pngs: list | None = None, *,
             foot: float = FOOT, blank: float = BLANK, min_ppi: float = MIN_PPI) -> list[str]:
    """Every layout problem found, one sentence each (an empty list when the pages are good).

    ``marks``: from :func:`marks`. ``page_heights``: page heights in pt, page 1 first (read from the
    marks when None). ``pngs``: the page PNGs (any order; the last number in a file's name is its
    page), used for blankness and for the headings' check, and checked for resolution.
    """
    out: list[str] = []
    sizes = pages(marks, page_heights)
    if not any(m["kind"] == "page" for m in marks):
        out.append("no page marks: does the template apply `#show: marks` from pagemarks.typ?")
    by_page = {_page_number(Path(p)): Path(p) for p in pngs or []}
    ink = _Ink(by_page, sizes)
    n_pages = max([*sizes, *by_page, *(m["page"] for m in marks)], default=0)
    if pngs is not None and sorted(by_page) != list(range(1, n_pages + 1)):
        out.append(f"{len(by_page)} page PNGs for {n_pages} pages")
    for p in sorted(by_page):
        if p in sizes:
            r = ppi(by_page[p], sizes[p].height)
            if r < min_ppi - 0.5:
                out.append(f"page {p}: PNG rendered at {r:.0f} ppi, below the {min_ppi:.0f} needed to show every "
                           "character")
    spans = _spans(marks)
    ends = {id(s): e for s, e in spans}
    order = {id(m): i for i, m in enumerate(marks)}
    out += _headings(marks, sizes, ink, ends, order, foot)
    out += _keeps(spans, sizes)
    out += _blank(marks, spans, sizes, ink, n_pages, blank)
    return out


def _headings(marks, sizes, ink, ends, order, foot) -> list[str]:
    out = []
    for h in (m for m in marks if m["kind"] == "heading-start"):
        page = sizes.get(h["page"])
        if page is None:
            continue
        end = ends.get(id(h))
        y = end["y"] if end is not None and end["page"] == h["page"] else page.body_bottom
        if page.share(y) < 1 - foot:
            continue
        after = order[id(end)] + 1 if end is not None else order[id(h)] + 1
        nxt = next((m for m in marks[after:] if m["kind"] in STARTS or m["kind"] == "annex"), None)
        if h["page"] in ink:
            alone = not ink.any_between(h["page"], y + DESCENT, page.body_bottom)
        else:
            alone = nxt is None or nxt["page"] > h["page"]
        if alone:
            where = f"its section starts on page {nxt['page']}" if nxt else "nothing follows it"
            out.append(f"page {h['page']}: heading {_label(h)} is stranded at the foot of the page "
                       f"({100 * page.share(y):.0f}% down the text area); {where}")
    return out


def _keeps(spans, sizes) -> list[str]:
    out = []
    for s, e in spans:
        if s["kind"] != "keep-start":
            continue
        if e is None:
            out.append(f"page {s['page']}: kept block {_label(s)} has no end mark")
        elif e["page"] != s["page"]:
            out.append(f"page {s['page']}: kept block {_label(s)} is split across pages {s['page']}–{e['page']}")
        elif e["page"] in sizes and e["y"] > sizes[e["page"]].body_bottom + 1.0:
            out.append(f"page {s['page']}: kept block {_label(s)} runs {e['y'] - sizes[e['page']].body_bottom:.0f} "
                       "pt past the foot of the text area")
    return out


def _blank(marks, spans, sizes, ink, n_pages, blank) -> list[str]:
    exempt = {n_pages}
    for a in (m for m in marks if m["kind"] == "annex"):
        page = sizes.get(a["page"])
        # the annexes' start closes the body: the page before may be short (or the start's own page,
        # when the annex mark is not at its top: the body ended on it)
        exempt.add(a["page"] - 1 if page is None or page.share(a["y"]) < 0.05 else a["page"])
    full = set()  # pages that something starts before and ends after: full by construction
    for s, e in spans:
        if e is not None:
            full.update(range(s["page"], e["page"]))
    out = []
    for p in range(1, n_pages + 1):
        page = sizes.get(p)
        if p in exempt or page is None:
            continue
        if p in ink:
            low = ink.last(p, page.body_top, page.body_bottom)
            how = "from its PNG"
        elif p in full:
            continue
        else:
            ys = [m["y"] for m in marks if m["page"] == p and m["kind"] != "page"]
            low = max(ys, default=None)
            how = "from its marks"
        share = 1.0 if low is None else 1.0 - page.share(low)
        if share > blank:
            out.append(f"page {p}: {100 * share:.0f}% of the text area is blank at the foot ({how}; at most "
                       f"{100 * blank:.0f}% allowed)")
    return out


def check_pdf_build(build_dir: str | Path, png_dir: str | Path | None = None, typ: str = "brief.typ") -> list[str]:
    """Every layout problem of a compiled brief: its build directory (``brief.typ``, ``data.json``,
    ``pagemarks.typ``, ``fig/``) and, when given, the folder of its page PNGs."""
    build = Path(build_dir)
    pngs = sorted(Path(png_dir).glob("*.png")) if png_dir is not None else None
    return problems(marks(build / typ, build), None, pngs)
