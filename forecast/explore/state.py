"""The state behind ``forecast explore``: one session kept warm, every control change evaluated as the CLI does.

A :class:`Workbench` holds one :class:`~forecast.analyses.session.Session` and its baseline result, so the
posterior and the compiled functions stay in memory while a reader moves the page's controls. A change of
controls is the argument list of ``forecast whatif`` and is computed on its path, beside the kept baseline:

* :meth:`Session.whatif_resolved` turns a scenario, ``--set`` overrides, a stance (``--priors``) and
  ``--observe`` into a resolved spec (a scenario's own settings are replaced by ``--set`` / ``--priors`` /
  ``--observe`` when those are given, as on the command line); the scenario's interventions and ``do`` are
  checked (``--do``), all before anything is sampled;
* :meth:`Session.variant` computes it: a prior change importance-reweights the baseline's posterior draws (PSIS,
  Pareto k), or samples a fresh posterior (from the end of the baseline's chains) when k exceeds
  ``PARETO_K_MAX``; an intervention keeps the baseline's draws (paired); an observation conditions the draws,
  else samples anew.

So each number of :meth:`Workbench.evaluate` equals the what-if side of ``forecast whatif MODEL [--scenario
NAME] [--set KEY=VALUE]... [--priors STANCE] [--do ...] [--observe ...] --seed S --draws N --json`` (and the
baseline side of the baseline), read from :mod:`forecast.analyses.summary` (``stat``, ``change``). A model without
evidence gives ``forecast run --set ...``'s numbers too (the same draws fed the new priors); with evidence
``forecast run --set`` samples the changed model's posterior from scratch, which agrees with the reweighted
draws within Monte Carlo error, not digit for digit. A prior set written by :meth:`Workbench.save_prior_set`
resolves to the very numbers of its settings: ``forecast run --priors NAME`` equals ``forecast run --set ...``
and ``forecast whatif --priors NAME`` equals the evaluated view exactly.

Everything handed out is plain JSON-able data (``forecast.spec.jsonio``: no NaN, no NumPy scalars).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

from forecast.analyses.session import Session
from forecast.analyses.summary import PARETO_K_MAX, change, stat
from forecast.spec import jsonio
from forecast.spec.checks import raise_assignments
from forecast.spec.errors import Problem, SpecError, did_you_mean
from forecast.spec.load import find_file
from forecast.spec.locate import is_bare, model_prior_folder, prior_folders, prior_sets_of
from forecast.spec.outputs import write_atomic
from forecast.spec.priorsets import apply_sets, load_prior_set, parse_value
from forecast.spec.schema import PriorSpec

# a prior set's name: a plain id (letters, digits, single underscores), as the model's own ids
PLAIN_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$")
DEFAULT = "default"  # the package defaults, as ``--priors`` names them


def _plain(x: Any) -> Any:
    """``x`` as plain JSON data (floats round-trip exactly; NaN and infinity become None)."""
    return json.loads(jsonio.dumps(x))


class Workbench:
    """One model kept warm for the explore page: its controls, its baseline and any change of them.

    Parameters
    ----------
    model
        Path (or name under ``models/``) of the model file.
    priors
        The baseline's prior set (``None``: the model's baseline, ``priors/<model id>/baseline.toml``, else the
        package defaults; ``"default"``; a bare name under ``priors/<model id>/``; a path), as ``--priors``.
    sources
        Folder of the source texts (checks every locator); optional.
    draws, seed
        As ``--draws`` and ``--seed``.
    session_options
        Further :class:`Session` settings (``sampler``, ``chains``, ``tune``, ``as_of``, ``progress``).

    Every public method is serialised by a lock: the page may call from several threads.
    """

    def __init__(self, model: str | Path, priors: str | Path | None = None, sources: str | Path | None = None, *,
                 draws: int = 1000, seed: int = 0, session_options: dict | None = None):
        self.session = Session(model, priors, None, sources, draws=draws, seed=seed, **(session_options or {}))
        self.model_path: Path = Path(self.session.model_path)
        self.seed: int = seed
        self.draws: int = draws
        self._lock = threading.RLock()
        self._base = None  # the baseline Result, sampled on first use

    # --- what the page shows ------------------------------------------------------------------------------

    @property
    def model(self):
        return self.session.model

    def stances(self) -> dict[str, Path | None]:
        """The prior sets a reader may switch to, by name, the baseline's first: the baseline's own, then every
        set in ``priors/<model id>/`` (:func:`forecast.spec.locate.prior_sets_of`); ``"default"`` is the package
        defaults."""
        own = self.session.priors_path
        out: dict[str, Path | None] = {self._name(own): own}
        for path in prior_sets_of(self.model_path, self.model.info.id):
            out.setdefault(self._name(path), path)
        return out

    @staticmethod
    def _name(path: Path | None) -> str:
        return DEFAULT if path is None else Path(path).stem

    def controls(self) -> dict:
        """Plain data for the page's controls: claims (model order, with their source), variables, stances,
        scenarios, questions and the variables one may intervene on. Values are the baseline's: a claim's
        ``credence`` is the resolved one (its ``scale`` in the baseline's prior set applied; a
        ``claims.ID.credence`` setting is multiplied by that ``scale`` too, as on the command line), its
        ``strength`` a word of ``strength_words`` (or a prior, written out); ``keys`` are the ``--set`` keys of a
        control."""
        r = self.session.baseline
        ps, m = r.priors, self.model
        claims = []
        for c in m.claims:
            src = m.source(c.source)
            over = ps.claims.get(c.id)
            strength = over.strength if over and over.strength is not None else c.strength
            claims.append({
                "id": c.id, "source": c.source, "source_title": src.title, "grade": src.grade,
                "paraphrase": c.paraphrase, "cause": c.cause, "effect": c.effect, "direction": c.direction,
                "credence": r.claims[c.id].credence,
                "scale": over.scale if over else None,  # a claims.ID.credence setting is multiplied by it
                "strength": strength if isinstance(strength, str) else _spec_text(strength),
                "strength_words": list(ps.strength),
                "keys": {"credence": f"claims.{c.id}.credence", "strength": f"claims.{c.id}.strength"},
            })
        variables = []
        for v in m.variables:
            over = ps.variables.get(v.id)
            base = next(x for x in (over.base if over else None, v.base, ps.base_rate.default) if x is not None)
            variables.append({"id": v.id, "label": v.label, "kind": v.kind,
                              "base": _spec_text(base) if isinstance(base, PriorSpec) else str(base),
                              "base_words": list(ps.probability_words), "keys": {"base": f"variables.{v.id}.base"}})
        return _plain({
            "model": m.info.id, "title": m.info.title,
            "claims": claims, "variables": variables,
            "stances": list(self.stances()),
            "scenarios": [{"id": s.id, "label": s.label} for s in m.scenarios],
            "questions": [{"id": q.id, "short": m.short_title(q.id), "text": q.text} for q in m.questions],
            "interventions": [{"id": v.id, "label": v.label, "kind": v.kind} for v in m.variables],
            "draws": self.draws, "seed": self.seed,
        })

    def baseline(self) -> dict:
        """The view (:meth:`evaluate`) of the unchanged model."""
        with self._lock:
            t0 = time.perf_counter()
            base = self._baseline()
            return self._view(base, base, [], "baseline", t0)

    def _baseline(self):
        if self._base is None:
            self._base = self.session.run()
        return self._base

    # --- a change of controls --------------------------------------------------------------------------------

    def evaluate(self, *, sets: dict[str, str] | None = None, stance: str | None = None,
                 do: dict[str, float | bool] | None = None, observe: dict[str, float | bool] | None = None,
                 scenario: str | None = None) -> dict:
        """The view of the model under a change of controls: ``forecast whatif`` with ``--set`` (``sets``),
        ``--priors`` (``stance``, a name from :meth:`stances`), ``--do``, ``--observe`` and ``--scenario``.

        Returns
        -------
        dict
            ``questions``: per question (model order) ``id``, ``short``, ``text``, ``mean``, ``lo``, ``hi``,
            ``word``, ``mcse``, ``baseline`` {``mean``, ``lo``, ``hi``, ``word``}, ``change`` {``mean``, ``lo``,
            ``hi``, ``shown``, ``paired``} (``lo``/``hi`` None unless the draws are paired); ``method`` (one of
            ``baseline``, ``forward simulation``, ``paired intervention``, ``reweighted``, ``fresh posterior``),
            ``method_detail`` (the sampler's own account), ``pareto_k`` (of the weights used, or for a fresh
            posterior of the reweighting it replaced; None without weights), ``pareto_k_max``, ``fresh`` (a new
            posterior was sampled), ``touched`` (the claim and variable ids whose priors changed, the intervened
            and the newly observed variables), ``label``, ``diagnostics`` (R-hat, ESS, divergences, warnings),
            ``seconds`` (wall time).

        Raises
        ------
        SpecError
            Bad input (a credence outside [0, 1], an unknown claim, variable, strength word, scenario or stance,
            an index observed as true/false, ...), with the CLI's messages, before anything is sampled; the
            workbench is unchanged and the next call works.
        """
        t0 = time.perf_counter()
        sets = _sets(sets)
        do_raw, obs_raw = _assignments(do, "--do"), _assignments(observe, "--observe")
        with self._lock:
            s = self.session
            if scenario is not None and not isinstance(scenario, str):
                raise SpecError([Problem(str(s.model_path), "scenarios", f"not a scenario name: {scenario!r}")])
            scenario = scenario or None
            if scenario and scenario not in {x.id for x in self.model.scenarios}:  # the CLI's message
                names = [x.id for x in self.model.scenarios]
                raise SpecError([Problem(str(s.model_path), f"scenarios.{scenario}",
                                         "no such scenario" + did_you_mean(scenario, names))])
            priors = self._stance(stance)
            raise_assignments(s.baseline, obs_raw, "--observe")  # true/false for an index refused here
            observe_f = {k: float(v) for k, v in obs_raw.items()}
            r, sdo, label = s.whatif_resolved(scenario, sets or None, priors, observe_f or None)
            acts = {**sdo, **do_raw}
            raise_assignments(r, acts, "--do")  # before any sampling
            base = self._baseline()
            alt = s.variant(base, r, {k: float(v) for k, v in acts.items()})
            return self._view(base, alt, _touched(base.resolved, r, acts), label, t0)

    def _stance(self, stance: str | None) -> Path | str | None:
        """What ``--priors`` gets for a stance name: a prior-set file, ``"default"`` (the package defaults) or
        None (no stance: the session's own set, as ``whatif`` without ``--priors``). A path is refused (the page
        names stances); an unknown name gets the CLI's message."""
        if stance is None or stance == "":
            return None
        if not isinstance(stance, str):
            raise SpecError([Problem("--priors", repr(stance), "a stance is the name of a prior set")])
        known = self.stances()
        if stance in known:
            path = known[stance]
            return DEFAULT if path is None else Path(path)
        if stance == DEFAULT:
            return DEFAULT
        if not is_bare(stance):
            raise SpecError([Problem("--priors", stance, "a stance is the name of a prior set in "
                                     f"priors/{self.model.info.id}/, not a path" + did_you_mean(stance, known))])
        return self.session.locate(stance)  # a miss: the CLI's "no such prior set (looked for ...)"

    def _view(self, base, alt, touched: list[str], label: str, t0: float) -> dict:
        m = self.model
        questions = []
        for q in m.questions:
            key = f"q:{q.id}"
            b, a = stat(base, key, True), stat(alt, key, True)
            d = change(base, alt, key, True, b, a)
            questions.append({
                "id": q.id, "short": m.short_title(q.id), "text": q.text,
                "mean": a["mean"], "lo": a["lo"], "hi": a["hi"], "word": a["word"], "mcse": a["mcse"],
                "baseline": {k: b[k] for k in ("mean", "lo", "hi", "word", "mcse")},
                "change": {k: d[k] for k in ("mean", "lo", "hi", "shown", "paired", "mcse")},
            })
        diag = alt.diagnostics
        fresh = alt.posterior is not None and alt.posterior is not base.posterior and alt.weights is None
        if alt is base:
            method = "baseline"
        elif fresh:
            method = "fresh posterior"
        elif alt.weights is not None:
            method = "reweighted"
        elif alt.do:
            method = "paired intervention"
        elif alt.posterior is None:
            method = "forward simulation"
        else:
            method = "baseline"
        k = diag.get("pareto_k") if alt.weights is not None else diag.get("pareto_k_reweighting")
        return _plain({
            "questions": questions, "method": method, "method_detail": diag.get("method"),
            "pareto_k": k, "pareto_k_max": PARETO_K_MAX, "fresh": bool(fresh), "touched": touched,
            "label": label, "interval": alt.resolved.interval, "diagnostics": diag,
            "seconds": time.perf_counter() - t0,
        })

    # --- saving a stance ------------------------------------------------------------------------------------

    def save_prior_set(self, name: str, sets: dict[str, str], *, stance: str | None = None,
                       overwrite: bool = False) -> Path:
        """Write ``sets`` on top of ``stance``'s prior set (default: the baseline's) as the prior set ``name``:
        ``priors/<model id>/<name>.toml`` beside the model (the folder :func:`forecast.spec.locate.prior_set_path`
        looks in first that exists, else the one beside the model file), written whole or not at all.

        The file keeps the base set's own entries and what it extends, with the overrides written into their
        sections; where that would not resolve to the same prior set (checked by loading it), every value is
        written out instead (``extends = "default"``). Either way ``forecast run --priors NAME`` resolves to the
        numbers of ``forecast run --priors STANCE --set ...``.

        Raises
        ------
        SpecError
            ``name`` not a plain id (or ``"default"``); the file exists and ``overwrite`` is False (naming it);
            bad ``sets`` or an unknown stance (as :meth:`evaluate`). Nothing is written then.
        """
        if not isinstance(name, str) or not PLAIN_ID.match(name) or name == DEFAULT or len(name) > 64:
            raise SpecError([Problem("prior set name", repr(name), "expected a plain name: letters, digits and "
                                     "single underscores, starting with a letter (not \"default\")")])
        sets = _sets(sets)
        with self._lock:
            s = self.session
            chosen = self._stance(stance)
            base_path = s.priors_path if chosen is None else s.locate(chosen)
            s.resolve(base_path, sets=sets or None)  # bad settings refused before anything is written
            folder = model_prior_folder(self.model_path, self.model.info.id) or \
                prior_folders(self.model_path, self.model.info.id)[0]
            target = folder / f"{name}.toml"
            if target.exists() and not overwrite:
                raise SpecError([Problem(str(target), "prior set", f"'{name}' exists already: choose another "
                                         "name, or overwrite it")])
            expected = _comparable(load_prior_set(base_path, sets or None))
            base_name = self._name(base_path)
            changes = ", ".join(f"{k}={v}" for k, v in sets.items()) or "no changes"
            info = {"name": name, "description": f"Saved from forecast explore: {base_name} with {changes}."}
            header = (f"# Prior set saved by forecast explore: the prior set '{base_name}' with {changes}.\n"
                      f"# Model {self.model.info.id}; reproduce with: forecast run MODEL --priors {name}\n\n")
            text = None
            own = _own(base_path, folder, target)
            if own is not None:
                data, _ = apply_sets(own, sets)
                data["prior_set"] = {**info, "extends": own["prior_set"]["extends"]}
                text = header + _toml(data)
                if not _same(text, folder, name, expected):
                    text = None
            if text is None:  # every value written out: exact whatever the base set extends
                full = load_prior_set(base_path, sets or None).model_dump(exclude={"files", "overrides"})
                full["prior_set"] = {**info, "extends": DEFAULT}
                text = header + _toml(full)
                if not _same(text, folder, name, expected):  # not expected: say so rather than write a wrong set
                    raise SpecError([Problem(str(target), "prior set", "could not be written faithfully")])
            return write_atomic(target, text)


# --- input checks ---------------------------------------------------------------------------------------------

def _sets(sets: Any) -> dict[str, Any]:
    """``--set`` overrides from the page: keys as strings, values text or plain numbers (as on the command line)."""
    if sets is None:
        return {}
    if not isinstance(sets, dict):
        raise SpecError([Problem("--set", repr(sets), "expected KEY=VALUE settings")])
    out, bad = {}, []
    for key, value in sets.items():
        k = key.strip() if isinstance(key, str) else ""
        if isinstance(value, str):
            value = value.strip()
        ok = (isinstance(value, str) and value) or (isinstance(value, int | float) and not isinstance(value, bool))
        if not k or not ok:
            bad.append(Problem("--set", f"{key}={value}", "expected KEY=VALUE"))
        else:
            out[k] = value
    if bad:
        raise SpecError(bad)
    return out


def _assignments(values: Any, flag: str) -> dict[str, bool | float]:
    """``--do`` / ``--observe`` values from the page: true/false or a number (text read as on the command line);
    booleans stay booleans so that an index given one is refused (:func:`raise_assignments`)."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise SpecError([Problem(flag, repr(values), "expected VAR=VALUE settings")])
    out = {}
    for key, value in values.items():
        v = parse_value(value) if isinstance(value, str) else value
        if not isinstance(key, str) or not key.strip():
            raise SpecError([Problem(flag, repr(key), "expected VAR=VALUE")])
        if not isinstance(v, bool | int | float):
            raise SpecError([Problem(flag, key, f"value {value!r} is not true/false or a number")])
        out[key.strip()] = v if isinstance(v, bool) else float(v)
    return out


def _touched(base_r, r, acts: dict) -> list[str]:
    """The claims and variables a change reaches directly: priors that differ from the baseline's, interventions,
    new observations; model order, claims first."""
    m = r.model
    out = [c.id for c in m.claims if r.claims[c.id] != base_r.claims[c.id]]
    seen = {o.variable for o in r.evidence if o not in base_r.evidence} | set(acts)
    out += [v.id for v in m.variables if r.variables[v.id] != base_r.variables[v.id] or v.id in seen]
    return list(dict.fromkeys(out))


def _spec_text(spec: PriorSpec) -> str:
    return f"{spec.dist}({', '.join(f'{k}={v:g}' for k, v in spec.kwargs.items())})"


# --- writing a prior set -----------------------------------------------------------------------------------

def _comparable(ps) -> dict:
    return ps.model_dump(exclude={"files", "overrides", "prior_set"})


def _own(base: Path | None, folder: Path, target: Path) -> dict | None:
    """The base set's own entries with its ``extends`` as seen from ``folder`` (the package defaults: nothing
    of its own); None where that cannot be kept (it extends the file about to be written)."""
    if base is None:
        return {"prior_set": {"extends": DEFAULT}}
    with open(base, "rb") as fh:
        data = tomllib.load(fh)
    parent = data.get("prior_set", {}).get("extends", DEFAULT)
    if parent != DEFAULT:
        path = find_file(Path(base).parent / parent, "priors").resolve()
        if path == target.resolve():
            return None
        parent = Path(os.path.relpath(path, folder.resolve())).as_posix()
    data.setdefault("prior_set", {})["extends"] = parent
    return data


def _same(text: str, folder: Path, name: str, expected: dict) -> bool:
    """Whether ``text``, read as a prior set in ``folder``, is the prior set ``expected``: loaded from a
    temporary file there (its ``extends`` resolves as the real file's will), removed at once."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".toml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return _comparable(load_prior_set(Path(tmp))) == expected
    except SpecError:
        return False
    finally:
        Path(tmp).unlink(missing_ok=True)


def _toml(data: dict) -> str:
    """A prior set as TOML (tomli-w, the maintained writer): ``[prior_set]`` first, None left out."""
    import tomli_w

    def kept(v):
        return {k: kept(x) for k, x in v.items() if x is not None} if isinstance(v, dict) else v

    order = ["prior_set", *(k for k in data if k != "prior_set")]
    return tomli_w.dumps({k: kept(data[k]) for k in order if k in data and data[k] is not None})


__all__ = ["Workbench"]
