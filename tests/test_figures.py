"""Figures a reader can trace: no text over another, none cut by the edge, lettering large enough once placed
on the page, and a causal map whose arrows cross less than a plain order's (forecast.report.figcheck)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLE_SOURCES, HANOI
from matplotlib.figure import Figure

from forecast.report import figcheck
from forecast.report.figures import RC

TEXT_WIDTH_CM = 17.0
MAP_PAGE_CM = (26.7, 15.0)  # A4 landscape less margins, heading and note


def clean(fig) -> None:
    assert figcheck.overlaps(fig, rc=RC) == []
    assert figcheck.outside(fig, rc=RC) == []


# -- the checker itself ----------------------------------------------------------------------------------------


def test_figcheck_finds_overlaps_cut_texts_and_small_fonts():
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_xticks([0.4, 0.5], ["a long tick label", "another long tick label"])  # too close: they meet
    ax.text(0.5, 0.5, "first", fontsize=12)
    ax.text(0.52, 0.51, "second", fontsize=12)
    fig.text(0.99, 0.5, "cut by the edge", fontsize=5)
    pairs = figcheck.overlaps(fig, rc=RC)
    assert ("first", "second") in pairs
    assert ("a long tick label", "another long tick label") in pairs
    assert figcheck.outside(fig, rc=RC) == ["cut by the edge"]
    assert figcheck.smallest_font_pt(fig, 4 * 2.54, tight=False, rc=RC) == pytest.approx(5)
    assert figcheck.smallest_font_pt(fig, 2 * 2.54, tight=False, rc=RC) == pytest.approx(2.5)
    assert len(figcheck.text_boxes(fig, rc=RC)) == len(figcheck.texts(fig, rc=RC)) >= 6
    clear = Figure(figsize=(4, 3))
    clear.text(0.1, 0.1, "alone")
    assert figcheck.overlaps(clear) == [] and figcheck.outside(clear) == []


def test_figcheck_skips_ticks_outside_the_view():
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.set_xticks([0, 0.5, 1, 5], ["0", "half", "1", "far"])
    ax.set_xlim(0, 1)  # after the ticks (set_xticks widens the view to show them all)
    assert "far" not in [s for s, _, _ in figcheck.texts(fig, rc=RC)]


# -- driver diagrams -------------------------------------------------------------------------------------------


LONG = "Moon resumes shuttle diplomacy between Washington and Pyongyang after the failed summit in Hanoi"


def crafted(bars: list[dict], title: str = "A third Trump–Kim summit by the end of 2020") -> dict:
    claims = [
        {"id": "c01", "cause": "The Hanoi summit ends without any agreement", "effect": "Chinese influence over the "
         "Korean peninsula", "direction": "raises", "source": "ispsw", "grade": "C3", "paraphrase": "…"},
        {"id": "c17", "cause": LONG, "effect": "A third Trump-Kim meeting takes place", "direction": "raises",
         "source": "cwd_moon_unga_2020_extraordinarily_long_source_id", "grade": "A2", "paraphrase": "…"},
        {"id": "c22", "cause": "Kim's distrust of US intentions", "effect": "Kim curtails talks with the US",
         "direction": "lowers", "source": "kcna_stockholm", "grade": "B2", "paraphrase": "…"},
    ]
    return {"sensitivity": {"questions": {"q1": {"baseline": 0.52, "bars": bars, "candidates": 12}}},
            "claims": claims, "judgments": [{"id": "q1", "short": title, "text": "Will they meet?"}],
            "map": {"nodes": [{"id": "a", "label": "Kim stops in Beijing"}, {"id": "b", "label": "Kim-Xi ties deepen"}],
                    "edges": [{"id": "c40", "cause": "a", "effect": "b", "sign": -1, "source": "xinhua"}],
                    "sources": [{"id": "xinhua", "grade": "B1"}]}}


def bar(kind: str, ident: str, low: float, high: float) -> dict:
    texts = ("credence 5%", "credence 95%") if kind == "claim" else ("base rate 10%", "base rate 40%")
    return {"kind": kind, "id": ident, "label": ident, "low": low, "high": high, "low_text": texts[0],
            "high_text": texts[1], "swing": abs(high - low)}


CASES = {
    "three": [bar("claim", "c17", 0.41, 0.63), bar("base", "third_summit", 0.3, 0.45),
              bar("claim", "c22", 0.58, 0.47), bar("claim", "c01", 0.5, 0.53), bar("claim", "c40", 0.5, 0.51)],
    "one": [bar("claim", "c22", 0.9, 0.02)],
    "map only": [bar("claim", "c40", 0.2, 0.25), bar("claim", "c01", 0.5, 0.5)],
}


@pytest.mark.parametrize("case", list(CASES))
def test_driver_diagram_is_legible(case):
    from forecast.report.drivers import draw_drivers, driver_data

    data = crafted(CASES[case], title="Will North Korea and the United States hold a third leaders' summit, "
                   "announced by both governments, before the end of 2020?")
    d = driver_data(data, "q1")
    assert 1 <= len(d["drivers"]) <= 3 and all(x["id"] != "third_summit" for x in d["drivers"])
    assert [x["swing"] for x in d["drivers"]] == sorted((x["swing"] for x in d["drivers"]), reverse=True)
    fig = draw_drivers(d)
    clean(fig)
    assert figcheck.smallest_font_pt(fig, TEXT_WIDTH_CM, rc=RC) >= 7.5
    assert fig.get_figheight() * 2.54 <= 9.0  # about a third of a column
    shown = " ".join(s for s, _, _ in figcheck.texts(fig, rc=RC))
    for x in d["drivers"]:
        assert x["id"] in shown and x["grade"] in shown
        assert f"{round(100 * x['low'])}% → {round(100 * x['high'])}%" in shown


def test_driver_data_words_and_files(tmp_path):
    from forecast.report.drivers import driver_data, driver_figures

    data = crafted(CASES["three"] + [])
    d = driver_data(data, "q1")
    assert [x["id"] for x in d["drivers"]] == ["c17", "c22", "c01"]
    assert d["drivers"][1]["direction"] == "lowers" and d["drivers"][0]["grade"] == "A2"
    assert d["title"].startswith("A third") and d["others"] == 12 - 3
    assert driver_data(crafted(CASES["map only"]), "q1")["drivers"][0]["cause"] == "Kim stops in Beijing"
    data["sensitivity"]["questions"]["q2"] = {"baseline": 0.3, "bars": [bar("base", "x", 0.2, 0.4)], "candidates": 1}
    names = driver_figures(data, tmp_path / "figs", ["q1", "q2", "q_missing"])
    assert list(names) == ["drivers_q1"]  # q2 has no claim driver
    assert (tmp_path / "figs" / names["drivers_q1"]).read_text().startswith("<?xml")


# -- the causal map --------------------------------------------------------------------------------------------


def hanoi_map() -> dict:
    """Hanoi's map data from the spec alone (no sampling), as in test_report."""
    from forecast.spec import load_model, load_prior_set, resolve

    m = load_model(HANOI)
    r = resolve(m, load_prior_set(None))
    asked = {q.variable for q in m.questions}
    return {"nodes": [{"id": v.id, "label": v.label, "kind": v.kind, "observed": v.id == "summit_failed",
                       "asked": v.id in asked} for v in m.variables],
            "edges": [{"id": c.id, "cause": c.cause, "effect": c.effect, "source": c.source,
                       "sign": 1 if c.direction == "raises" else -1, "strength": 1.0, "credence": 0.6}
                      for c in m.claims],
            "order": list(r.order), "sources": [{"id": s.id, "grade": s.grade} for s in m.sources]}


@pytest.fixture(scope="module")
def hanoi_figure():
    from forecast.report.causal_map import draw

    return draw(hanoi_map())


def test_hanoi_map_is_legible_on_a_landscape_page(hanoi_figure):
    fig = hanoi_figure
    clean(fig)
    assert figcheck.smallest_font_pt(fig, *MAP_PAGE_CM, rc=RC) >= 7.0
    assert fig.map_layout["fits"]
    assert len([t for t in fig.axes[0].texts]) == 35


def test_hanoi_map_orders_columns_to_cut_crossings(hanoi_figure):
    from forecast.report.causal_map import layout

    data = hanoi_map()
    plain = layout(data, plain=True)["crossings"]
    ordered = layout(data)["crossings"]
    assert ordered == hanoi_figure.map_layout["crossings"]
    assert ordered < plain / 2, (ordered, plain)
    lay = hanoi_figure.map_layout
    assert all(lay["layer"][e["cause"]] < lay["layer"][e["effect"]] for e in data["edges"])  # arrows point right


def test_hanoi_map_arrows_pass_between_boxes(hanoi_figure):
    """A long arrow runs through gaps (its waypoints), never behind a box it does not join (34 of 59 did)."""
    from matplotlib.patches import FancyArrowPatch

    from forecast.report.causal_map import label_boxes

    data = hanoi_map()
    boxes = dict(zip([n["id"] for n in data["nodes"]], label_boxes(hanoi_figure), strict=True))
    ax = hanoi_figure.axes[0]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    edges = sorted(data["edges"], key=lambda e: e["id"])
    assert len(arrows) == len(edges)
    behind = []
    for e, arrow in zip(edges, arrows, strict=True):
        pts = ax.transData.transform(arrow.get_path().interpolated(20).vertices)
        for v, (x0, y0, x1, y1) in boxes.items():
            if v not in (e["cause"], e["effect"]) and any(
                    x0 + 1 < x < x1 - 1 and y0 + 1 < y < y1 - 1 for x, y in pts):
                behind.append((e["id"], v))
    assert behind == []


def test_crossings_are_counted():
    from forecast.report.causal_map import crossings

    chains = {"1": ["a", "d"], "2": ["b", "c"]}
    assert crossings([["a", "b"], ["c", "d"]], chains) == 1
    assert crossings([["a", "b"], ["d", "c"]], chains) == 0


def test_a_small_map_has_no_crossing():
    from forecast.report.causal_map import layout

    data = {"nodes": [{"id": v, "label": v} for v in "abcdef"], "order": list("abcdef"),
            "edges": [{"id": f"e{i}", "cause": a, "effect": b} for i, (a, b) in
                      enumerate(["ae", "bd", "cf", "af", "df"])]}
    assert layout(data, plain=True)["crossings"] > 0
    assert layout(data)["crossings"] == 0


# -- every chart of the brief ----------------------------------------------------------------------------------

WORDS = {"almost no chance": [0.0, 0.05], "very unlikely": [0.05, 0.2], "unlikely": [0.2, 0.45],
         "roughly even chance": [0.45, 0.55], "likely": [0.55, 0.8], "very likely": [0.8, 0.95],
         "almost certain": [0.95, 1.0]}


def small_brief() -> dict:
    """A brief's data by hand: what forecast.report.figures.all_figures reads, nothing sampled."""
    js = [("q_meet", "Trump and Kim meet again before 2020", 0.31, 0.2, 0.44, 3),
          ("q_relief", "Sanctions on North Korea eased by 2021", 0.12, 0.05, 0.22, 2),
          ("q_tests", "North Korea resumes long-range tests", 0.64, 0.5, 0.77, 2),
          ("q_drift", "Seoul drifts toward Beijing by the end of 2021", 0.48, 0.3, 0.66, 1)]
    judgments = [{"id": i, "short": s, "text": s + "?", "mean": m, "lo": lo, "hi": hi, "importance": imp}
                 for i, s, m, lo, hi, imp in js]
    m = hanoi_map()
    hist = [0.01, 0.03, 0.08, 0.15, 0.2, 0.2, 0.15, 0.1, 0.05, 0.03]
    rows = [{"id": j["id"], "short": j["short"], "label": j["text"],
             "diff": {"mean": d, "lo": d - 0.05, "hi": d + 0.04}} for j, d in zip(judgments, (0.1, -0.04, 0.2, 0.0),
                                                                                  strict=True)]
    bars = [bar("claim", "c17", 0.22, 0.41), bar("base", "third_summit", 0.25, 0.36), bar("claim", "c22", 0.35, 0.28)]
    for b in bars:
        b["label"] = f"{b['id']}: Moon resumes shuttle diplomacy between Washington and Pyongyang → a third meeting"
    return {"title": {"interval": 0.8}, "words": WORDS, "judgments": judgments, "map": m,
            "indices": [{"id": "kim_distrust", "label": "Kim's distrust of US intentions", "hist": hist,
                         "mean": 0.55, "lo": 0.3, "hi": 0.8},
                        {"id": "china_influence", "label": "Chinese influence over the Korean peninsula",
                         "hist": hist[::-1], "mean": 0.45, "lo": 0.2, "hi": 0.7}],
            "stances": [{"name": n, "questions": {j["id"]: {"mean": min(0.99, j["mean"] + k * 0.07)}
                                                  for j in judgments}} for k, n in enumerate(["baseline", "skeptic"])],
            "whatifs": [{"id": "moon_mediates", "rows": rows}],
            "sensitivity": {"questions": {"q_meet": {"baseline": 0.31, "bars": bars, "candidates": 7}}},
            "key": ["q_meet"], "claims": crafted([])["claims"]}


def brief_figures(data: dict, tmp_path: Path, monkeypatch) -> dict[str, Figure]:
    """The figures all_figures draws (save replaced by a recorder: the same figures, nothing written)."""
    from forecast.report import drivers, figures

    drawn: dict[str, Figure] = {}

    def record(fig, path, twice=False):
        drawn[Path(path).stem] = fig
        return Path(path)

    monkeypatch.setattr(figures, "save", record)
    monkeypatch.setattr(drivers, "save", record)
    figures.all_figures(data, tmp_path)
    return drawn


def test_every_brief_figure_has_no_overlapping_text(tmp_path, monkeypatch):
    drawn = brief_figures(small_brief(), tmp_path, monkeypatch)
    assert {"probabilities", "map", "indices", "tornado_q_meet"} <= set(drawn)
    found = {name: figcheck.overlaps(fig, rc=RC) for name, fig in drawn.items()}
    assert found == {name: [] for name in drawn}


@pytest.mark.slow
def test_example_brief_figures_are_legible(tmp_path, monkeypatch, example_no_evidence):
    """The example model's real brief data (few draws): every chart and driver diagram without overlaps."""
    from forecast.analyses.brief import collect
    from forecast.report.drivers import draw_drivers, driver_data

    data = collect(example_no_evidence, sources=EXAMPLE_SOURCES, draws=200, seed=3)
    drawn = brief_figures(data, tmp_path, monkeypatch)
    for qid in data["sensitivity"]["questions"]:
        d = driver_data(data, qid)
        if d["drivers"] and f"drivers_{qid}" not in drawn:
            drawn[f"drivers_{qid}"] = draw_drivers(d)
    assert any(name.startswith("drivers_") for name in drawn)
    found = {name: figcheck.overlaps(fig, rc=RC) for name, fig in drawn.items()}
    assert found == {name: [] for name in drawn}
    assert figcheck.smallest_font_pt(drawn["map"], *MAP_PAGE_CM, rc=RC) >= 7.0
