"""Report layer: typesets the data of :func:`forecast.analyses.brief.collect` as a PDF brief.

It reads results only; it never builds or samples a model. ``write_report``
is the one entry point (the ``forecast report`` command calls it).
"""

from __future__ import annotations

from pathlib import Path


def write_report(data: dict, out: str | Path, paper: str = "a4", png_dir: str | Path | None = None,
                 problems: list[str] | None = None) -> Path:
    """Write the brief for ``data`` to ``out`` (atomically); with ``png_dir``, also every page as PNG; with
    ``problems`` (a list), the page rules' breaches are appended to it (:mod:`forecast.report.pagecheck`)."""
    from forecast.report.typeset import compile_pdf

    return compile_pdf(data, out, paper=paper, png_dir=png_dir, problems=problems)


__all__ = ["write_report"]
