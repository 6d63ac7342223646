"""Page rules of the typeset brief (reports/pagemarks.typ) and their check (forecast/report/pagecheck.py).

Small Typst documents, each breaking one rule (or none), compiled with Typst's embedded fonts as the
brief is: the check must report each broken rule, from the marks alone and from the page PNGs, and
pass the good documents.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from forecast.report import pagecheck

typst = pytest.importorskip("typst")

ROOT = Path(__file__).resolve().parents[1]
PAGEMARKS = ROOT / "reports" / "pagemarks.typ"
PAGE = """#set page(width: 200pt, height: 300pt, margin: (x: 20pt, y: 30pt),
  footer: context align(center, text(size: 8pt, counter(page).display())))
#set text(size: 10pt)
"""
HEAD = '#import "pagemarks.typ": *\n#show: marks\n' + PAGE
BODY_TOP, BODY_BOTTOM = 30.0, 270.0

GOOD = """
= Introduction
#lorem(90)
== Detail
#lorem(60)
#keep(name: "quote")[#emph(lorem(25))]
#table(columns: 2, [a], [b], [c], [d])
#lorem(160)
== Last
#lorem(70)
#pagebreak()
#annex[Sources]
#lorem(30)
"""
# A heading whose section (an unbreakable block) cannot follow it on its page.
FOOT_HEADING = """
#v(195pt)
= Stranded
#block(breakable: false, rect(width: 100%, height: 120pt, fill: luma(120)))
#lorem(20)
"""
# A block marked as kept but breakable: it runs over two pages.
SPLIT = """
#lorem(20)
#block(breakable: true, { mark("keep-start", name: "quote"); lorem(150); end-mark("keep-end", name: "quote") })
#lorem(10)
"""
# A page broken off a third of the way down.
HALF_EMPTY = """
#lorem(30)
#pagebreak()
#lorem(250)
"""


def build(tmp_path: Path, body: str, ppi: float = 200, head: str = HEAD, name: str = "doc") -> Path:
    d = tmp_path / name
    (d / "png").mkdir(parents=True)
    shutil.copyfile(PAGEMARKS, d / "pagemarks.typ")
    Image.new("RGB", (40, 80), (90, 90, 90)).save(d / "ink.png")  # a figure, for the documents that need one
    (d / "brief.typ").write_text(head + body, encoding="utf-8")
    typst.compile(str(d / "brief.typ"), output=str(d / "png" / "page-{0p}.png"), root=str(d),
                  ignore_system_fonts=True, format="png", ppi=ppi)
    return d


def check(d: Path, pngs: bool) -> list[str]:
    return pagecheck.check_pdf_build(d, d / "png" if pngs else None)


def about(problems: list[str], word: str) -> list[str]:
    return [p for p in problems if word in p]


def test_marks_record_pages_headings_and_blocks(tmp_path):
    d = build(tmp_path, GOOD)
    marks = pagecheck.marks(d / "brief.typ", d)
    pages = [m for m in marks if m["kind"] == "page"]
    assert [m["page"] for m in pages] == list(range(1, len(pages) + 1)) and len(pages) >= 3
    assert all((m["width"], m["height"], m["top"], m["bottom"]) == (200, 300, 30, 30) for m in pages)
    heads = [(m["level"], m["text"]) for m in marks if m["kind"] == "heading-start"]
    assert heads == [(1, "Introduction"), (2, "Detail"), (2, "Last"), (1, "Sources")]
    first = next(m for m in marks if m["kind"] == "heading-start")
    assert (first["page"], first["y"]) == (1, BODY_TOP)
    end = next(m for m in marks if m["kind"] == "heading")
    assert BODY_TOP + 8 < end["y"] < BODY_TOP + 25  # the heading's baseline, one line down
    kinds = [m["kind"] for m in marks]
    assert kinds.count("keep-start") == kinds.count("keep-end") == 1
    assert kinds.count("annex") == 1 and kinds.count("content") == kinds.count("content-end") > 5
    assert all(BODY_TOP <= m["y"] <= BODY_BOTTOM for m in marks if m["kind"] != "page")


def test_marks_take_no_room(tmp_path):
    """The same pages, pixel for pixel, with and without the marks."""
    for body in (GOOD, FOOT_HEADING.replace("#v(195pt)", "#v(100pt)"), HALF_EMPTY):
        with_marks = typst.compile(build(tmp_path, body, name="a") / "brief.typ", format="png", ppi=72,
                                   ignore_system_fonts=True)
        plain = body.replace("#annex[Sources]", "= Sources").replace('#keep(name: "quote")', "#block")
        without = typst.compile(build(tmp_path, plain, head=PAGE, name="b") / "brief.typ", format="png", ppi=72,
                                ignore_system_fonts=True)
        assert with_marks == without
        shutil.rmtree(tmp_path / "a")
        shutil.rmtree(tmp_path / "b")


@pytest.mark.parametrize("pngs", [False, True])
def test_good_document_passes(tmp_path, pngs):
    d = build(tmp_path, GOOD)
    assert len(list((d / "png").glob("*.png"))) >= 3
    assert check(d, pngs) == []


@pytest.mark.parametrize("pngs", [False, True])
def test_heading_at_the_foot_is_reported(tmp_path, pngs):
    d = build(tmp_path, "#show heading: set block(sticky: false)\n" + FOOT_HEADING)
    found = about(check(d, pngs), "stranded")
    assert len(found) == 1 and found[0].startswith("page 1: heading “Stranded”"), found
    # the rule in pagemarks.typ (sticky headings) moves it to the next page, with its section
    d = build(tmp_path, FOOT_HEADING, name="sticky")
    heads = [m for m in pagecheck.marks(d / "brief.typ") if m["kind"] == "heading-start"]
    assert [m["page"] for m in heads] == [2]
    assert about(check(d, pngs), "stranded") == []


def test_heading_high_on_the_page_is_not_stranded(tmp_path):
    d = build(tmp_path, "#show heading: set block(sticky: false)\n" + FOOT_HEADING.replace("195pt", "20pt"))
    assert about(check(d, True), "stranded") == about(check(d, False), "stranded") == []


@pytest.mark.parametrize("pngs", [False, True])
def test_block_split_across_pages_is_reported(tmp_path, pngs):
    d = build(tmp_path, SPLIT)
    found = about(check(d, pngs), "kept block")
    assert len(found) == 1 and "“quote” is split across pages 1–2" in found[0], found
    # with #keep the same text moves whole to the next page
    d = build(tmp_path, '#lorem(40)\n#keep(name: "quote", lorem(80))\n#lorem(10)', name="kept")
    marks = pagecheck.marks(d / "brief.typ")
    (start,) = [m for m in marks if m["kind"] == "keep-start"]
    assert start["page"] == 2
    assert about(check(d, pngs), "kept block") == []


def test_kept_block_taller_than_a_page_is_reported(tmp_path):
    d = build(tmp_path, "#keep(name: \"long\")[#lorem(400)]")
    assert about(check(d, False), "past the foot"), check(d, False)


@pytest.mark.parametrize("pngs", [False, True])
def test_half_empty_page_is_reported(tmp_path, pngs):
    d = build(tmp_path, HALF_EMPTY)
    found = about(check(d, pngs), "blank")
    assert len(found) == 1 and found[0].startswith("page 1:"), found
    share = int(found[0].split("page 1: ")[1].split("%")[0])
    assert 50 < share < 90


@pytest.mark.parametrize("pngs", [False, True])
def test_short_last_page_and_page_before_the_annexes_pass(tmp_path, pngs):
    d = build(tmp_path, "#lorem(30)\n#pagebreak()\n#annex[Sources]\n#lorem(250)\n#pagebreak()\n#lorem(10)")
    assert check(d, pngs) == []


def test_empty_page_is_reported(tmp_path):
    d = build(tmp_path, "#lorem(150)\n#pagebreak()\n#pagebreak()\n#lorem(150)")
    found = about(check(d, True), "blank")
    assert any(p.startswith("page 3: 100%") for p in found), found


def test_ppi(tmp_path):
    d = build(tmp_path, HALF_EMPTY, ppi=110)
    png = sorted((d / "png").glob("*.png"))[0]
    assert pagecheck.ppi(png, 300) == pytest.approx(110, abs=0.5)
    with pytest.raises(ValueError, match="pHYs"):
        pagecheck.ppi(png)
    found = about(check(d, True), "ppi")
    assert found and all("110 ppi" in p for p in found) and len(found) == len(list((d / "png").glob("*.png")))
    assert about(check(build(tmp_path, HALF_EMPTY, name="sharp"), True), "ppi") == []


def test_template_without_marks_is_reported(tmp_path):
    d = build(tmp_path, GOOD.replace("#keep(name: \"quote\")", "#block").replace("#annex[Sources]", ""), head=PAGE)
    assert about(check(d, False), "no page marks")


def test_missing_pngs_are_reported(tmp_path):
    d = build(tmp_path, GOOD)
    sorted((d / "png").glob("*.png"))[-1].unlink()
    assert about(check(d, True), "page PNGs for")


def test_page_left_short_by_a_figure_is_reported_from_the_marks(tmp_path):
    """The table's end is marked where the table ends, not where the figure that moves on begins."""
    d = build(tmp_path, '#lorem(20)\n#table(columns: 2, [a], [b])\n#image("ink.png", height: 200pt)\n')
    marks = pagecheck.marks(d / "brief.typ")
    table_end = next(m for m in marks if m["kind"] == "content-end" and m["what"] == "table")
    assert table_end["page"] == 1
    found = about(pagecheck.problems(marks), "blank")
    assert found and found[0].startswith("page 1:"), found
