"""``forecast explore``'s page: a Panel app over one :class:`~forecast.explore.state.Workbench`.

The page reads only the Workbench: :meth:`~Workbench.controls` builds the widgets once per browser session,
and every change of a widget calls :meth:`~Workbench.evaluate` with the whole current setting (the claims'
credences and strength words and the base rates that differ from the baseline, the stance, the interventions,
the new observations, the named scenario), in a worker thread so that the page stays live and shows that it is
busy (a fresh posterior can take tens of seconds). Changes made while an evaluation runs are gathered into one
further evaluation. Bad input (a :class:`~forecast.spec.errors.SpecError`) is shown on the page, one line per
problem as the command line prints them; the server keeps running.

Stable hooks for tests and scripts: every question's probability is an element
``<td class="q-prob" data-question="ID" data-mean="0.123456">12%</td>``; the status line carries ``data-seq``
(evaluations finished) and ``data-busy``; widgets carry CSS classes (``credence-<claim>``, ``strength-<claim>``,
``scenario-<id>``, ``do-<variable>``, ``observe-<variable>``, ``stance``, ``save-name``, ``save-button``,
``save-overwrite``, ``export-button``, ``drivers-<question>``).

:func:`serve` starts the server (127.0.0.1 unless a non-local host is allowed explicitly); :func:`build` gives one
session's page; :class:`Page` holds its widgets and callbacks (``immediate=True`` evaluates inside the callback,
without an event loop: for tests driving the callbacks directly).
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import panel as pn

from forecast.spec.errors import Problem, SpecError

log = logging.getLogger(__name__)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
NONE = "—"  # a select's "not set"
BASELINE_STANCE = "(the model's baseline)"  # a model without prior sets to switch to

CSS = """
table.explore-questions {border-collapse: collapse; font-size: 14px; width: 100%;}
table.explore-questions th {text-align: left; border-bottom: 2px solid #444; padding: 4px 8px;}
table.explore-questions td {border-bottom: 1px solid #ddd; padding: 4px 8px; vertical-align: top;}
td.q-prob {font-weight: bold; font-size: 16px;}
td.q-change.up {color: #b2182b;} td.q-change.down {color: #2166ac;}
span.q-id {color: #666; font-family: monospace;}
div.explore-status {font-size: 13px; color: #333;}
div.explore-status.busy {color: #b35900; font-weight: bold;}
div.explore-error {background: #fde8e8; border: 1px solid #d6604d; color: #7a1f1f; padding: 6px 10px;
                   font-family: monospace; font-size: 13px; white-space: pre-wrap;}
table.explore-drivers {border-collapse: collapse; font-size: 13px;}
table.explore-drivers td, table.explore-drivers th {border-bottom: 1px solid #ddd; padding: 3px 6px;
                                                   vertical-align: top; text-align: left;}
"""


# ---------------------------------------------------------------- where it listens

def address_problems(host: str, port: int, explicit: bool) -> list[Problem]:
    """What is wrong with listening on ``host:port`` (before anything loads): a non-local address unless the
    host was given explicitly (``--host``), a name that does not resolve, an address or port that cannot be
    bound (in use, not this machine's)."""
    if not explicit and host not in LOCAL_HOSTS:
        return [Problem("--host", host, "a non-local address serves the workbench to the network, without any "
                                        "password: give --host explicitly to do so")]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        return [Problem("--host", host, f"not an address or host name this machine can resolve ({err})")]
    family, _, _, _, addr = infos[0]
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(addr)
    except OSError as err:
        return [Problem("--port", str(port), f"cannot listen on {host}:{port}: {err.strerror or err}")]
    return []


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


# ---------------------------------------------------------------- formatting

def _pct(x: float) -> str:
    from forecast.analyses.summary import pct

    return pct(x)


def _pts(d: float) -> str:
    from forecast.analyses.summary import pts

    return pts(d)


def _esc(x) -> str:
    return html.escape(str(x), quote=True)


def _flag(d: float) -> str:
    from forecast.analyses.summary import percent

    v = percent(d)
    return "up" if v > 0 else "down" if v < 0 else ""


def questions_html(view: dict) -> str:
    """The questions table: probability, interval, ICD 203 word, the baseline and the change with its interval.
    Each number is an element with ``data-question`` and ``data-mean`` (unrounded) for tests and scripts."""
    level = view.get("interval")
    head = f"{round(100 * level)}% interval" if isinstance(level, int | float) else "interval"
    rows = [f"<table class='explore-questions'><tr><th>question</th><th>probability</th><th>{head}</th>"
            "<th>ICD 203</th><th>baseline</th><th>change (interval)</th></tr>"]
    for q in view["questions"]:
        qid, b, c = _esc(q["id"]), q.get("baseline") or {}, q.get("change") or {}
        change = ""
        if c and c.get("mean") is not None:
            change = (f"{_pts(c['mean'])}" + (f" ({_pts(c['lo'])} to {_pts(c['hi'])})"
                                               if c.get("lo") is not None else ""))
        rows.append(
            f"<tr data-question-row='{qid}'>"
            f"<td title='{_esc(q.get('text', ''))}'><span class='q-id'>{qid}</span> {_esc(q.get('short', ''))}</td>"
            f"<td class='q-prob' data-question='{qid}' data-mean='{q['mean']:.6f}'>{_pct(q['mean'])}</td>"
            f"<td class='q-interval' data-question='{qid}' data-lo='{q['lo']:.6f}' data-hi='{q['hi']:.6f}'>"
            f"{_pct(q['lo'])} – {_pct(q['hi'])}</td>"
            f"<td class='q-word' data-question='{qid}'>{_esc(q.get('word', ''))}</td>"
            f"<td class='q-base' data-question='{qid}' data-mean='{b.get('mean', float('nan')):.6f}'>"
            f"{_pct(b['mean']) if 'mean' in b else ''}"
            f"{(' (' + _esc(b['word']) + ')') if b.get('word') else ''}</td>"
            f"<td class='q-change {_flag(c.get('mean', 0.0)) if c else ''}' data-question='{qid}' "
            f"data-mean='{c.get('mean', 0.0) if c else 0.0:.6f}'>{change}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def status_html(view: dict | None, seq: int, busy: bool, note: str = "") -> str:
    """The status line: busy, or how the numbers were made (method, Pareto k, a fresh posterior, what the
    change touched, seconds)."""
    attrs = f"class='explore-status{' busy' if busy else ''}' data-seq='{seq}' data-busy='{int(busy)}'"
    if busy:
        return (f"<div {attrs}>⏳ evaluating… (reweighting takes about a second; a fresh posterior, where the "
                f"draws cannot carry the change, takes up to a minute){_esc(note)}</div>")
    if view is None:
        return f"<div {attrs}>{_esc(note)}</div>"
    parts = [f"<b>method</b>: {_esc(view.get('method', ''))}"]
    k, kmax = view.get("pareto_k"), view.get("pareto_k_max")
    if k is not None:
        parts.append(f"<b>Pareto k</b>: <span class='pareto-k' data-k='{k}'>{k:.2f}</span>"
                     + (f" (limit {kmax:g})" if kmax is not None else ""))
    fresh = bool(view.get("fresh"))
    parts.append(f"<span class='fresh' data-fresh='{int(fresh)}'>"
                 f"{'fresh posterior (reweighting could not carry the change)' if fresh else 'no fresh posterior'}"
                 "</span>")
    touched = view.get("touched") or []
    parts.append("<b>touched</b>: <span class='touched'>" + (_esc(", ".join(map(str, touched))) or "nothing")
                 + "</span>")
    if view.get("seconds") is not None:
        parts.append(f"{view['seconds']:.2f} s")
    diag = view.get("diagnostics") or {}
    warnings = diag.get("warnings") if isinstance(diag, dict) else None
    text = " · ".join(parts)
    if warnings:
        text += "<br>⚠ " + "<br>⚠ ".join(_esc(w) for w in warnings)
    return f"<div {attrs}>{text}{('<br>' + _esc(note)) if note else ''}</div>"


def error_html(lines: list[str]) -> str:
    if not lines:
        return "<div class='explore-error-none'></div>"
    body = "\n".join(f"error: {ln}" for ln in lines)
    return (f"<div class='explore-error' data-error='1'>{_esc(body)}\n(the numbers below are those of the last "
            "valid setting)</div>")


def chart(view: dict, words: dict | None = None):
    """Dot and whisker, as the brief draws it (:func:`forecast.report.figures.probabilities`): every question's
    probability and interval on the ICD 203 bands, the baseline's in grey beneath."""
    import matplotlib as mpl
    import numpy as np
    from matplotlib.figure import Figure

    from forecast.report.figures import RC, WIDTH, _bands, wrap

    rows = list(view["questions"])[::-1]
    with mpl.rc_context({**RC, "svg.fonttype": "none"}):
        fig = Figure(figsize=(WIDTH, 0.9 + 0.36 * len(rows)))
        ax = fig.add_subplot()
        if words:
            _bands(ax, words)
        for i, q in enumerate(rows):
            b = q.get("baseline") or {}
            if "mean" in b:
                ax.plot([100 * b["lo"], 100 * b["hi"]], [i - 0.18] * 2, color="#999999", lw=1.1)
                ax.plot(100 * b["mean"], i - 0.18, "o", color="#999999", ms=3.4, zorder=3)
            ax.plot([100 * q["lo"], 100 * q["hi"]], [i + 0.1] * 2, color="#222222", lw=1.4)
            ax.plot(100 * q["mean"], i + 0.1, "o", color="black", ms=4.2, zorder=4)
            ax.text(101.5, i, _pct(q["mean"]), va="center", fontsize=7, clip_on=False)
        ax.set_yticks(np.arange(len(rows)), [wrap(f"{q['id']}: {q.get('short', '')}", 46) for q in rows],
                      fontsize=6.6)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlim(0, 100)
        ax.set_xlabel("probability (%): black, this setting; grey, the baseline (dot: mean, line: interval)")
        ax.grid(axis="x", color="white", lw=0.6)
        h = fig.get_figheight()
        fig.subplots_adjust(left=0.38, right=0.94, top=1 - 0.5 / h, bottom=0.5 / h)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]  # inline, without the XML prologue


# ---------------------------------------------------------------- one browser session's page

class Page:
    """One browser session's widgets over the shared Workbench (``lock``: one evaluation at a time, whoever
    asks)."""

    def __init__(self, workbench, lock: threading.Lock | None = None, *, immediate: bool = False,
                 export: dict | None = None):
        self.wb, self.lock, self.immediate = workbench, lock or threading.Lock(), immediate
        self.export_args = export or {}
        self.controls = workbench.controls()
        self.seq, self.busy, self.dirty, self.holding = 0, False, False, False
        self.scenario: str | None = None
        self.view: dict | None = None
        self.errors: list[str] = []
        self.saved: Path | None = None
        self.drivers_cache: dict[str, str] = {}
        self._widgets()
        self._layout()
        self.show(self.compute(None))

    # ---- widgets
    def _widgets(self) -> None:
        c = self.controls
        cb = self._changed_sync if self.immediate else self._changed
        self.credence, self.strength, self.base, self.do, self.observe = {}, {}, {}, {}, {}
        self.claim_label: dict[str, pn.pane.HTML] = {}
        self.initial: dict[str, object] = {}
        for cl in c["claims"]:
            cid = cl["id"]
            tip = (f"{cl.get('paraphrase', '')} — source: {cl.get('source_title') or cl.get('source')}, "
                   f"grade {cl.get('grade', '?')}; {cl.get('cause')} {cl.get('direction')} {cl.get('effect')}")
            self.claim_label[cid] = pn.pane.HTML(
                f"<div class='claim-label' title='{_esc(tip)}'><b>{_esc(cid)}</b> {_esc(cl.get('cause'))} "
                f"{_arrow(cl.get('direction'))} {_esc(cl.get('effect'))}</div>", margin=(8, 10, -6, 10))
            w = _w(pn.widgets.FloatInput, "credence", value=_shown(cl.get("credence")), step=0.01, width=150,
                   description=tip, css_classes=["credence", f"credence-{cid}"])
            w.param.watch(cb, "value")
            self.credence[cid] = w
            words = list(cl.get("strength_words") or [])
            if cl.get("strength") is not None and cl["strength"] not in words:
                words = [cl["strength"], *words]
            s = _w(pn.widgets.Select, "strength", options=words, value=cl.get("strength"), width=150,
                   css_classes=["strength", f"strength-{cid}"], disabled=not words)
            s.param.watch(cb, "value")
            self.strength[cid] = s
            self.initial[f"claims.{cid}.credence"] = w.value
            self.initial[f"claims.{cid}.strength"] = s.value
        for v in c["variables"]:
            words = list(v.get("base_words") or [])
            if v.get("base") is not None and v["base"] not in words:
                words = [v["base"], *words]
            s = _w(pn.widgets.Select, f"{v['id']}: {v.get('label', '')} (base)", options=words,
                   value=v.get("base"), width=360, css_classes=["base", f"base-{v['id']}"],
                   disabled=not words)
            s.param.watch(cb, "value")
            self.base[v["id"]] = s
            self.initial[f"variables.{v['id']}.base"] = s.value
        for it in c["interventions"]:
            vid, label = it["id"], f"{it['id']}: {it.get('label', '')}"
            for store, flag in ((self.do, "do"), (self.observe, "observe")):
                if it.get("kind") == "event":
                    w = _w(pn.widgets.Select, label, options=[NONE, "true", "false"], value=NONE, width=360,
                           css_classes=[flag, f"{flag}-{vid}"])
                else:
                    w = _w(pn.widgets.TextInput, f"{label} (level 0–1)", value="", placeholder="not set",
                           width=360, css_classes=[flag, f"{flag}-{vid}"])
                w.param.watch(cb, "value")
                store[vid] = w
        self.own_stance = c["stances"][0] if c["stances"] else BASELINE_STANCE  # the baseline's own prior set
        self.stance = _w(pn.widgets.Select, "stance (prior set)", options=list(c["stances"]) or [BASELINE_STANCE],
                         value=self.own_stance, css_classes=["stance"], width=400)
        self.stance.param.watch(cb, "value")
        self.scenario_buttons = {}
        for sc in c["scenarios"]:
            b = _w(pn.widgets.Button, sc.get("label") or sc["id"], button_type="default",
                   css_classes=["scenario", f"scenario-{sc['id']}"], description=f"scenario {sc['id']}")
            b.on_click(self._handler(self._scenario_cb(sc["id"])))
            self.scenario_buttons[sc["id"]] = b
        self.no_scenario = _w(pn.widgets.Button, "no scenario", button_type="primary",
                              css_classes=["scenario", "scenario-none"])
        self.no_scenario.on_click(self._handler(self._scenario_cb(None)))
        self.reset = _w(pn.widgets.Button, "reset to the baseline", button_type="warning", css_classes=["reset"])
        self.reset.on_click(self._handler(self._reset_cb))
        # results
        self.status = pn.pane.HTML(status_html(None, 0, True), stylesheets=[CSS], sizing_mode="stretch_width")
        self.error = pn.pane.HTML(error_html([]), stylesheets=[CSS], sizing_mode="stretch_width")
        self.table = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width")
        self.figure = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["explore-chart"])
        self.spinner = pn.indicators.LoadingSpinner(value=False, size=28, css_classes=["busy-spinner"], visible=False)
        # drivers
        self.driver_buttons = []
        for q in self.controls["questions"]:
            b = _w(pn.widgets.Button, q["id"], description=q.get("short") or q.get("text"),
                   css_classes=["drivers", f"drivers-{q['id']}"], button_type="light")
            b.on_click(self._handler(self._drivers_cb(q["id"])))
            self.driver_buttons.append(b)
        self.drivers = pn.pane.HTML("<i>click a question's button to list what drives it</i>",
                                    stylesheets=[CSS], sizing_mode="stretch_width")
        # save / export
        self.save_name = _w(pn.widgets.TextInput, "prior set name", placeholder="e.g. my_view", width=220,
                            css_classes=["save-name"])
        self.save_button = _w(pn.widgets.Button, "save as prior set", button_type="success",
                              css_classes=["save-button"])
        self.save_button.on_click(lambda e: self._save(overwrite=False))
        self.overwrite = _w(pn.widgets.Button, "overwrite it", button_type="danger", visible=False,
                            css_classes=["save-overwrite"])
        self.overwrite.on_click(lambda e: self._save(overwrite=True))
        self.export_button = _w(pn.widgets.Button, "export brief (PDF)", button_type="default",
                                css_classes=["export-button"])
        self.export_button.on_click(self._handler(self._export_cb))
        self.save_message = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width")

    def _layout(self) -> None:
        c = self.controls
        by_source: dict[str, list] = {}
        titles = {}
        for cl in c["claims"]:
            by_source.setdefault(cl["source"], []).append(cl["id"])
            titles[cl["source"]] = f"{cl.get('source_title') or cl['source']} (grade {cl.get('grade', '?')})"
        claim_cards = [pn.Card(*[x for i in ids for x in (self.claim_label[i], pn.Row(self.credence[i],
                                                                                        self.strength[i]))],
                               title=titles[s],
                               collapsed=len(by_source) > 3, sizing_mode="stretch_width",
                               css_classes=["source", f"source-{s}"])
                       for s, ids in by_source.items()]
        self.sidebar = [
            self.stance,
            pn.pane.Markdown("### Claims\ncredence (0–1) and strength, by source; hover the **?** for the "
                             "paraphrase and grade"),
            *claim_cards,
            pn.Card(*self.base.values(), title="Base rates", collapsed=True, sizing_mode="stretch_width"),
            pn.Card(*self.do.values(), title="Interventions (do)", collapsed=True, sizing_mode="stretch_width"),
            pn.Card(*self.observe.values(), title="New observations", collapsed=True, sizing_mode="stretch_width"),
            self.reset,
        ]
        self.main = [
            pn.Row(self.spinner, self.status, sizing_mode="stretch_width"),
            self.error,
            pn.pane.Markdown("**Scenarios** (one click; combined with the settings on the left):"),
            pn.FlexBox(*self.scenario_buttons.values(), self.no_scenario),
            self.table,
            self.figure,
            pn.pane.Markdown("**Drivers** of a question:"),
            pn.FlexBox(*self.driver_buttons),
            self.drivers,
            pn.pane.Markdown("**Save** the prior changes (credences, strengths, base rates, stance) as a prior set, "
                             "then export a brief with it:"),
            pn.Row(self.save_name, self.save_button, self.overwrite, self.export_button),
            self.save_message,
        ]

    def layout(self, title: str = "forecast explore"):
        return pn.template.BootstrapTemplate(title=title, sidebar=self.sidebar, main=self.main, sidebar_width=470)

    # ---- the setting
    def setting(self) -> dict:
        """The Workbench's arguments for what the widgets say now; bad values raise :class:`SpecError`."""
        sets: dict[str, str] = {}
        for cid, w in self.credence.items():
            key = f"claims.{cid}.credence"
            if w.value is None:
                continue
            if w.value != self.initial[key]:
                sets[key] = repr(float(w.value))
        for cid, w in self.strength.items():
            key = f"claims.{cid}.strength"
            if w.value != self.initial[key]:
                sets[key] = str(w.value)
        for vid, w in self.base.items():
            key = f"variables.{vid}.base"
            if w.value != self.initial[key]:
                sets[key] = str(w.value)
        acts: dict[str, dict[str, str]] = {"do": {}, "observe": {}}  # as typed: the Workbench reads them as
        for flag, store in (("do", self.do), ("observe", self.observe)):  # --do / --observe are read
            for vid, w in store.items():
                text = (w.value or "").strip()
                if text not in ("", NONE):
                    acts[flag][vid] = text
        stance = None if self.stance.value == self.own_stance else self.stance.value
        return {"sets": sets, "stance": stance, "do": acts["do"] or None, "observe": acts["observe"] or None,
                "scenario": self.scenario}

    def compute(self, setting: dict | None) -> tuple[str, object]:
        """Evaluate ``setting`` (None: the baseline) on the Workbench: ("ok", view) or ("error", lines)."""
        try:
            with self.lock:
                if setting is None or not any(setting.values()):
                    return "ok", self.wb.baseline()
                return "ok", self.wb.evaluate(**setting)
        except SpecError as err:
            return "error", [str(p) for p in err.problems]
        except Exception as err:  # shown on the page; the server keeps running
            log.exception("explore: evaluation failed")
            return "error", [f"{type(err).__name__}: {err}"]

    def show(self, outcome: tuple[str, object]) -> None:
        kind, what = outcome
        self.seq += 1
        if kind == "ok":
            self.view, self.errors = what, []
            self.table.object = questions_html(what)
            try:
                self.figure.object = chart(what, self._words())
            except Exception:  # the table holds the same numbers
                log.exception("explore: chart failed")
        else:
            self.errors = list(what)
        self.error.object = error_html(self.errors)
        self.status.object = status_html(self.view, self.seq, False, self._note())

    def _note(self) -> str:
        return f" scenario: {self.scenario}" if self.scenario else ""

    def _words(self) -> dict | None:
        try:
            return {w: list(b) for w, b in self.wb.session.baseline.priors.probability_words.items()}
        except AttributeError:
            return None

    def _busy(self, on: bool) -> None:
        self.busy = on
        self.spinner.value = on
        self.spinner.visible = on
        self.table.loading = on
        if on:
            self.status.object = status_html(self.view, self.seq, True, self._note())

    def _setting_or_error(self) -> dict | tuple[str, list[str]]:
        try:
            return self.setting()
        except SpecError as err:
            return "error", [str(p) for p in err.problems]

    def _changed_sync(self, *_events) -> None:
        if self.holding:
            return
        st = self._setting_or_error()
        self.show(st if isinstance(st, tuple) else self.compute(st))

    async def _changed(self, *_events) -> None:
        if self.holding:
            return
        if self.busy:  # gathered into the evaluation after the running one
            self.dirty = True
            return
        self._busy(True)
        try:
            loop = asyncio.get_running_loop()
            while True:
                self.dirty = False
                st = self._setting_or_error()
                outcome = st if isinstance(st, tuple) else await loop.run_in_executor(None, self.compute, st)
                if not self.dirty:
                    break
        finally:
            self._busy(False)
        self.show(outcome)

    def _handler(self, fn):
        """A click handler: ``fn`` itself (``immediate``), else a coroutine function awaiting what ``fn`` returns
        (Panel awaits only handlers that are coroutine functions)."""
        if self.immediate:
            return fn

        async def run(event):
            got = fn(event)
            if asyncio.iscoroutine(got):
                await got
        return run

    def _scenario_cb(self, name: str | None):
        def click(_event):
            self.scenario = name
            for sid, b in self.scenario_buttons.items():
                _colour(b, "primary" if sid == name else "default")
            _colour(self.no_scenario, "primary" if name is None else "default")
            return self._changed_sync() if self.immediate else self._changed()
        return click

    def _reset_cb(self, _event=None):
        """Every widget back to the baseline, then one evaluation."""
        self.holding = True  # the widget resets below must not each evaluate
        try:
            for cid, w in self.credence.items():
                w.value = self.initial[f"claims.{cid}.credence"]
            for cid, w in self.strength.items():
                w.value = self.initial[f"claims.{cid}.strength"]
            for vid, w in self.base.items():
                w.value = self.initial[f"variables.{vid}.base"]
            for store in (self.do, self.observe):
                for w in store.values():
                    w.value = NONE if isinstance(w, pn.widgets.Select) else ""
            self.stance.value = self.own_stance
        finally:
            self.holding = False
        return self._scenario_cb(None)(None)

    # ---- drivers
    def _drivers_cb(self, qid: str):
        def click(_event):
            if self.immediate:
                self.drivers.object = self.drivers_text(qid)
                return None
            return self._drivers_async(qid)
        return click

    async def _drivers_async(self, qid: str) -> None:
        self.drivers.object = f"<i class='drivers-busy'>finding what drives {_esc(qid)}…</i>"
        text = await asyncio.get_running_loop().run_in_executor(None, self.drivers_text, qid)
        self.drivers.object = text

    def drivers_text(self, qid: str) -> str:
        if qid not in self.drivers_cache:
            try:
                with self.lock:
                    rows = self.wb.drivers(qid) if hasattr(self.wb, "drivers") else _ancestry(self.wb, qid)
            except SpecError as err:
                return error_html([str(p) for p in err.problems])
            except Exception as err:
                log.exception("explore: drivers failed")
                return error_html([f"{type(err).__name__}: {err}"])
            self.drivers_cache[qid] = drivers_html(qid, rows)
        return self.drivers_cache[qid]

    # ---- save and export
    def _save(self, overwrite: bool) -> None:
        name = (self.save_name.value or "").strip()
        try:
            st = self.setting()
            with self.lock:
                path = self.wb.save_prior_set(name, st["sets"], stance=st["stance"], overwrite=overwrite)
        except SpecError as err:
            lines = [str(p) for p in err.problems]
            exists = any("exist" in ln for ln in lines)
            self.overwrite.visible = exists
            self.save_message.object = error_html(lines).replace(
                "(the numbers below are those of the last valid setting)",
                "(click “overwrite it” to replace it)" if exists else "")
            return
        self.overwrite.visible = False
        self.saved = Path(path)
        left = [k for k in ("do", "observe", "scenario") if st.get(k)]
        note = (f" (not part of a prior set: {', '.join(left)})" if left else "")
        self.save_message.object = (f"<div class='save-ok' data-path='{_esc(path)}'>saved {_esc(path)}"
                                    f"{_esc(note)}</div>")

    def _export_cb(self, _event=None):
        if self.saved is None:
            self.save_message.object = error_html(["export: save the setting as a prior set first"]).replace(
                "(the numbers below are those of the last valid setting)", "")
            return None
        cmd = export_command(self.saved, **self.export_args)
        self.save_message.object = (f"<div class='export-busy'>⏳ writing the brief: {_esc(' '.join(cmd[2:]))} "
                                    "(a few minutes)</div>")
        if self.immediate:
            self.save_message.object = _run_export(cmd)
            return None

        async def run():
            self.save_message.object = await asyncio.get_running_loop().run_in_executor(None, _run_export, cmd)
        return run()


LABEL = "label" if "label" in pn.widgets.Button.param else "name"  # Panel 1.9 renamed a widget's name to label
COLOR = "color" if "color" in pn.widgets.Button.param else "button_type"  # and a button's button_type to color


def _w(cls, label: str, **params):
    """A Panel widget with its label (``label`` since Panel 1.9, ``name`` before) and a button's colour."""
    if "button_type" in params:
        params[COLOR] = params.pop("button_type")
    return cls(**{LABEL: label}, **params)


def _colour(button, colour: str) -> None:
    setattr(button, COLOR, colour)


def _shown(x) -> float | None:
    """A credence as its input shows it (four decimals: 0.6, not 0.6000000000000001); a change is what differs
    from this."""
    try:
        return round(float(x), 4)
    except (TypeError, ValueError):
        return None


def _arrow(direction: str | None) -> str:
    return {"raises": "↑", "lowers": "↓"}.get(direction or "", "→")


def _ancestry(wb, qid: str) -> list[dict]:
    """The claims into a question's ancestral set, nearest first (its variable's own claims first), with their
    paraphrase and source: what can move it."""
    from forecast.compile import ancestral_set

    r = wb.session.baseline
    q = next(q for q in r.model.questions if q.id == qid)
    anc = ancestral_set(r, [q.variable])
    depth = {v: i for i, v in enumerate(r.order)}
    rows = [dict(c) for c in wb.controls()["claims"] if c["effect"] in anc]
    rows.sort(key=lambda c: (c["effect"] != q.variable, -depth.get(c["effect"], 0), c["id"]))
    if wb.session.sources:
        from forecast.analyses.passages import passage

        m = wb.session.model
        for row in rows:
            c = next(c for c in m.claims if c.id == row["id"])
            row["passage"] = passage(wb.session.sources, m.source(c.source).file, c.locator or "", max_chars=300)
    return rows


def drivers_html(qid: str, rows: list[dict]) -> str:
    if not rows:
        return f"<div class='drivers-list' data-question='{_esc(qid)}'><i>no claim reaches {_esc(qid)}</i></div>"
    has_swing = any("swing" in r for r in rows)
    head = ("<tr><th>claim</th><th>from</th><th>paraphrase and passage</th>"
            + ("<th>low → high credence</th>" if has_swing else "<th>baseline credence</th>") + "</tr>")
    body = []
    for r in rows:
        cid = r.get("id", "")
        num = (f"{_pct(r['low'])} → {_pct(r['high'])}" if has_swing and "low" in r
               else (f"{float(r['credence']):.2f}" if r.get("credence") is not None else ""))
        passage = r.get("passage")
        para = _esc(r.get("paraphrase") or r.get("label", "")) + (f"<br><small>“{_esc(passage)}”</small>"
                                                                   if passage else "")
        body.append(f"<tr class='driver' data-claim='{_esc(cid)}'><td>{_esc(cid)}: {_esc(r.get('cause', ''))} "
                    f"{_arrow(r.get('direction'))} {_esc(r.get('effect', ''))}</td>"
                    f"<td>{_esc(r.get('source_title') or r.get('source', ''))} {_esc(r.get('grade', ''))}</td>"
                    f"<td>{para}</td><td>{num}</td></tr>")
    return (f"<div class='drivers-list' data-question='{_esc(qid)}'><b>{_esc(qid)}</b>: the claims that can move "
            f"it, nearest first<table class='explore-drivers'>{head}{''.join(body)}</table></div>")


def export_command(priors: Path, model: str | Path = "", sources: str | Path | None = None, draws: int | None = None,
                   seed: int | None = None, out_dir: str | Path = "reports/out") -> list[str]:
    """``forecast report`` with the saved prior set, into ``reports/out/<model>_<prior set>.pdf``."""
    out = Path(out_dir) / f"{Path(model).stem}_{Path(priors).stem}.pdf"
    cmd = [sys.executable, "-m", "forecast", "report", str(model), "--priors", str(priors), "-o", str(out)]
    if sources:
        cmd += ["--sources", str(sources)]
    if draws:
        cmd += ["--draws", str(draws)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    return cmd


def _run_export(cmd: list[str]) -> str:
    out = cmd[cmd.index("-o") + 1]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as err:
        return error_html([f"export: {err}"]).replace("(the numbers below are those of the last valid setting)", "")
    if p.returncode:
        lines = [ln.removeprefix("error: ") for ln in p.stderr.strip().splitlines()[-8:]]
        return error_html([f"export (exit {p.returncode}):", *lines]).replace(
            "(the numbers below are those of the last valid setting)", "")
    return (f"<div class='export-ok' data-path='{_esc(out)}'>wrote {_esc(out)} in "
            f"{time.perf_counter() - t:.0f} s</div>")


# ---------------------------------------------------------------- the app

def build(workbench, lock: threading.Lock | None = None, export: dict | None = None):
    """One browser session's page (a Panel template) over ``workbench``."""
    page = Page(workbench, lock, export=export)
    layout = page.layout(f"forecast explore: {page.controls.get('title') or page.controls.get('model', '')}")
    layout.page = page  # for scripts and tests
    return layout


def serve(model=None, priors=None, sources=None, *, draws: int = 1000, seed: int = 0,
          session_options: dict | None = None, host: str = "127.0.0.1", port: int = 0, show: bool = False,
          allow_remote: bool = False, threaded: bool = True, workbench=None):
    """Serve the workbench of ``model`` (or an existing ``workbench``) on ``host:port`` (0: a free port).

    A non-local ``host`` is refused (:class:`SpecError`) unless ``allow_remote`` (the command line sets it when
    ``--host`` is given). ``threaded``: the server runs in a thread, returned once it listens (``.stop()`` ends
    it; ``.port`` and ``.url`` say where it is); otherwise the Bokeh ``Server`` is returned unstarted
    (``.start()``, then ``.io_loop.start()``), for the command line to print the address first.
    """
    problems = address_problems(host, port, allow_remote)
    if problems:
        raise SpecError(problems)
    if workbench is None:
        from forecast.explore.state import Workbench

        workbench = Workbench(model, priors=priors, sources=sources, draws=draws, seed=seed,
                              session_options=session_options)
    if port == 0:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    lock = threading.Lock()
    export = {"model": workbench.model_path, "sources": workbench.session.sources, "draws": workbench.draws,
              "seed": workbench.seed}
    origins = [f"{h}:{port}" for h in {host, "localhost", "127.0.0.1"}]
    app = lambda: build(workbench, lock, export)  # noqa: E731
    kw = dict(port=port, address=host, websocket_origin=origins, show=show, title="forecast explore",
              verbose=False)
    if not threaded:
        return pn.serve(app, start=False, **kw)
    server = pn.serve(app, threaded=True, **kw)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until it listens
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    server.port, server.url, server.workbench = port, url(host, port), workbench
    return server
