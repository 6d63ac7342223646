"""Brief data → display strings → Typst → PDF (and page PNGs for checking by eye).

:func:`forecast.report.document.prepare` turns the analyses' numbers into the strings the reader
sees; the template
``reports/brief.typ`` reads them with ``json()`` and only lays them out. Only
Typst's embedded fonts are used (Libertinus Serif; figures carry their text
as paths), so the PDF looks the same on every machine.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from forecast.report.document import prepare
from forecast.report.figures import all_figures
from forecast.spec import jsonio
from forecast.spec.outputs import write_atomic

TEMPLATE = Path(__file__).resolve().parents[2] / "reports" / "brief.typ"
MARKS = TEMPLATE.with_name("pagemarks.typ")  # keep-together rules and the page marks pagecheck reads
PNG_PPI = 200.0


def compile_pdf(data: dict, out: str | Path, paper: str = "a4", png_dir: str | Path | None = None,
                png_ppi: float = PNG_PPI, problems: list[str] | None = None) -> Path:
    """Write the brief to ``out`` atomically (temporary file beside it, then ``os.replace``); ``png_dir``: every
    page as a PNG there too (earlier pages removed); ``problems``: a list to fill with the page rules' breaches
    (:func:`forecast.report.pagecheck.check_pdf_build`, read from Typst's layout and the page images)."""
    import typst

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="forecast-brief-") as tmp:
        build = Path(tmp)
        figures = all_figures(data, build / "fig")
        doc = prepare(data, {k: f"fig/{v}" for k, v in figures.items()}, paper)
        (build / "data.json").write_text(jsonio.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        shutil.copyfile(TEMPLATE, build / "brief.typ")
        shutil.copyfile(MARKS, build / "pagemarks.typ")
        stamp = dt.datetime.combine(dt.date.fromisoformat(data["title"]["as_of"]) if data["title"]["as_of"]
                                    else dt.date(2000, 1, 1), dt.time(), dt.UTC)
        pdf = typst.compile(str(build / "brief.typ"), root=str(build), ignore_system_fonts=True, format="pdf",
                            timestamp=stamp)
        if png_dir is None and problems is not None:
            png_dir = build / "pages"
        if png_dir is not None:
            pages = build / "png"
            pages.mkdir()
            typst.compile(str(build / "brief.typ"), output=str(pages / "page-{0p}.png"), root=str(build),
                          ignore_system_fonts=True, format="png", ppi=png_ppi)
            if problems is not None:
                from forecast.report.pagecheck import check_pdf_build

                problems.extend(check_pdf_build(build, pages))
        write_atomic(out, pdf)
        if png_dir is not None:
            png_dir = Path(png_dir)
            png_dir.mkdir(parents=True, exist_ok=True)
            for old in png_dir.glob("page-*.png"):
                old.unlink()
            for page in sorted(pages.glob("page-*.png")):
                shutil.move(page, png_dir / page.name)
    return out
