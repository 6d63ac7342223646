"""Flip analysis, "what would change our mind": the single changes that move a key judgment's word.

A key judgment is a question with a per-draw probability (an event, or an index above its threshold:
``Result.outcomes["q:<id>"]``) and the ICD 203 word it is printed with (:func:`forecast.analyses.summary.word`,
read at the printed percentage). For each one, every single change below is tried, and those that move the word
across a band edge are listed, the least change first:

* **a claim's credence**, moved towards 0 or towards 1 on the 0.01 grid: the credence nearest the current one at
  which the word changes, the one step nearer (0.01 less far) keeping it (not for a claim whose credence is 0 or
  1, a constant, nor one whose credence the prior set scales, where a ``--set`` value is not the credence). The
  ends are evaluated at ``EPS`` and ``1 - EPS`` (1e-9: no draw of a thousand has the mechanism on, or off), not at
  0 and 1: a credence of exactly 0 or 1 makes the claim a constant of the compiled model (another structure, and
  with evidence a fresh posterior). The flip's ``set`` holds the value evaluated, so that ``forecast run --set``
  reproduces it;
* **a claim's strength word** one step weaker or stronger (the prior set's ``[strength]`` words, in the order it
  lists them: weak, moderate, strong in the package defaults);
* **a variable's base rate** (an index's typical level) one ICD 203 word lower or higher (the prior set's
  probability words by their bands); a base written as a range, such as "30-50%", steps to the words either side
  of the word its midpoint reads as;
* **an observation** reversed (:meth:`Session.reversed`: an observed event's value flipped, a soft report saying
  the opposite) or left out (:meth:`Session.without`). Leaving one out lands between keeping it and reversing it
  (law of total probability; for a soft report the forecast is monotone in its likelihood ratio, which leaving it
  out sets to 1), so it is evaluated only where the reversal flips a question, or where there is no reversal
  (an index measurement).

Only changes that can reach a question are tried for it: a claim or base rate upstream of its variable, or,
when the question lies downstream of the evidence's ancestral set, any input of that set and any observation
(they move the posterior). A change that reaches no question is never listed as its flip, even where Monte
Carlo noise would move the printed number (a strength or base-rate change draws that whole family of parameters
afresh, so every number moves a little). Nor is one the exact forecast rules out: a claim from an event observed
false (its term is 0 in every world), and a strength one word weaker of a claim outside the evidence's ancestral
set whose credence screen at 0 keeps the word, where every path to the question has one sign
(:meth:`_Flips.bracketed`: the forecast then lies between the baseline's and that screen's).

How, without recompiling
------------------------
Every change is a ``--set`` override (or an observation reversed or left out) evaluated with the session's
compiled functions: :meth:`Session.variant` re-simulates with the new hyperparameters and the same seed (common
random numbers), reweighting the baseline's posterior draws (PSIS) where the change is upstream of the
evidence. A Pareto k above ``PARETO_K_MAX`` is reported and the flip marked untrusted, never sampled anew
(``resample=False``). Every evaluation gives every question at once and is read for all of them.

A credence is searched as follows. Each direction is first *screened* at its end: the exact forecast is
monotone in a credence (law of total probability: f(k) = pi(k) f(1) + (1 - pi(k)) f(0), with pi(k) the claim's
posterior credence: pi(k) = k outside the evidence's ancestral set, where f is linear in k, and a monotone
linear-fractional function of k inside it), so a word the end keeps is kept all the way. Where the end changes
it, the crossing is found by bisection on the grid, the bracket being the current credence (which keeps the
word) and the end (which does not); its first point is predicted from that curve through the baseline and the
end, the next ones gallop from there (1, 2, 4... steps) until the word is on the other side, and bisection
closes the bracket. Most crossings take two evaluations. (A question read at another date than its event's
window, docs/semantics.md "Horizons", is f rescaled per draw by an increasing function: still monotone in k,
no longer linear, so only the first predicted point is off.) Assumed: the simulated answer follows that monotone
curve. Checked: every point evaluated on the way agrees with a single crossing (``monotone`` in the flip; false
where Monte Carlo noise near the band edge makes the word change back and forth).

Shortcuts, each equal to the direct computation and tested against it (``tests/test_flips.py``):

* credences of claims outside the evidence's ancestral set, none of which reaches a question another still
  reads, are evaluated together (one ``--set`` of several credences): each gate is drawn from its own uniform,
  so such a question gets, draw for draw, the numbers of its own claim's change alone;
* inside it, the posterior at any credence of one claim comes from the baseline's alone
  (:func:`credence_posterior`: the gates' posterior given each latent configuration, which the recovery already
  has, turns the baseline's joint into the joint at any credence), so no recovery call per claim is needed;
* the settings are written into the baseline's resolved spec with the spec layer's own functions
  (:meth:`_Flips.setting`), as ``session.resolve(sets=...)`` gives them, without reading the files each time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from forecast.analyses.posterior import Posterior, psis
from forecast.analyses.recovery import Enumerated
from forecast.analyses.session import Result, Session
from forecast.analyses.summary import PARETO_K_MAX, stat, word, worded_questions
from forecast.compile import Numbers, ancestral_set, descendants
from forecast.spec.priorsets import parse_value
from forecast.spec.resolve import Resolved, credence_value, probability_prior

EPS = 1e-9  # the credence ends: 0 and 1 stand for EPS and 1 - EPS (exactly 0 or 1 is another compiled structure)
GRID = 100  # credences on the 0.01 grid, in hundredths
KINDS = ("credence", "strength", "base", "removed", "reversed")
ORDER = {"credence": 0, "strength": 1, "base": 1, "reversed": 2, "removed": 2}  # how much a change of a kind takes
Progress = Callable[[int, int, str], None]  # (evaluations done, evaluations planned so far, what)


def _credence(point: int) -> float:
    """The credence evaluated at a grid point (hundredths)."""
    return EPS if point == 0 else 1.0 - EPS if point == GRID else point / GRID


def _text(point: int) -> str:
    """The ``--set`` value of a grid point: exactly what :func:`_credence` evaluates."""
    return f"{EPS:g}" if point == 0 else repr(1.0 - EPS) if point == GRID else f"{point / GRID:.2f}"


def _smaller(a: dict, b: dict) -> bool:
    """Whether prior ``a`` is stochastically smaller than ``b`` (checked for Gamma priors: shape no larger and rate
    no smaller suffice; anything else: not known, False)."""
    def shape_rate(p: dict) -> tuple[float, float] | None:
        kw = p["kwargs"]
        if p["dist"] != "Gamma":
            return None
        if {"alpha", "beta"} <= set(kw):
            return kw["alpha"], kw["beta"]
        if {"mu", "sigma"} <= set(kw):
            return (kw["mu"] / kw["sigma"]) ** 2, kw["mu"] / kw["sigma"] ** 2
        return None
    sa, sb = shape_rate(a), shape_rate(b)
    return sa is not None and sb is not None and sa[0] <= sb[0] and sa[1] >= sb[1]


def credence_posterior(post: Posterior, claim: str, kappa: float, numbers: Numbers, rows: np.ndarray
                       ) -> tuple[Posterior, np.ndarray, float] | None:
    """``post`` (the baseline's posterior, the claim at credence k0) with ``claim`` at credence ``kappa``:
    (posterior, log importance weights, Pareto k), what :meth:`Posterior.reweighted` recovers, from the baseline
    alone; None where it cannot be had so (the eliminated path, gates summed on a grid).

    ``rows`` (:attr:`Recovery.rows` at the baseline, (T, K, M)) gives per draw t and configuration k of the
    latent events h_tk = P(gate on | k, parameters, evidence). The gate's prior enters the joint as k^g (1-k)^(1-g),
    so with a = kappa / k0 and b = (1 - kappa) / (1 - k0)::

        L_tk(kappa) = P_tk (a h_tk + b (1 - h_tk)),   z_t = sum_k L_tk,   P_tk(kappa) = L_tk / z_t

    and the draw's log weight is log z_t (its likelihood p(parameters, evidence) changes by that factor, its prior
    density not at all). Another gate's posterior mixes the same way: P(g_j, g_c | k) from the rows of a shared
    variable, P(g_j | k) P(g_c | k) across variables (independent given k).
    """
    rec = post.recovery
    if (not isinstance(post.joint, Enumerated) or rec is None or rec.marginal.gridded or claim not in rec.gated
            or not post.current):
        return None
    k0 = post.numbers.credence[claim]
    a, b = kappa / k0, (1.0 - kappa) / (1.0 - k0)
    on = rec.row_on  # (M, C)
    var = np.asarray(rec.row_var)
    jc = rec.gated.index(claim)
    effect = var[np.argmax(on[:, jc])]  # a gate is on in some rows of its effect's only
    mine = var == effect
    h = rows[:, :, mine] @ on[mine, jc]  # (T, K): P(gate on | k)
    p0 = post.joint.probs
    if not np.allclose((p0 * h).sum(axis=1), post.gate_probs[claim], atol=1e-8):  # the rows are the baseline's
        return None
    L = p0 * (a * h + b * (1.0 - h))
    z = L.sum(axis=1)
    probs = L / z[:, None]
    gates = {}
    for j, c in enumerate(rec.gated):
        theirs = var == var[np.argmax(on[:, j])]
        pj = rows[:, :, theirs] @ on[theirs, j]  # P(g_j on | k)
        both = rows[:, :, mine] @ (on[mine, j] * on[mine, jc]) if var[np.argmax(on[:, j])] == effect else pj * h
        gates[c] = np.clip((p0 * (a * both + b * (pj - both))).sum(axis=1) / z, 0.0, 1.0)
    logw = np.log(z)
    joint = Enumerated(latent=list(post.joint.latent), configs=post.joint.configs, probs=probs,
                       bound=post.joint.bound)
    out = replace(post, joint=joint, gate_probs=gates, numbers=numbers, lp=post.lp + logw)
    return out, logw, psis(logw)[1]


@dataclass
class _Lane:
    """One claim's credence moved one way: grid ``points`` from the nearest the current credence to the end.

    Steps index them from 1 (step 0 is the current credence). ``bracket[q]`` = [lo, hi]: at lo the word is
    kept, at hi it is not; closed when they are neighbours."""

    claim: str
    kappa0: float
    points: list[int]
    questions: list[str]
    inside: bool  # the claim's effect is in the evidence's ancestral set
    reach: frozenset  # the variables its credence can move (see _Flips.apart)
    seen: dict[int, dict[str, bool]] = field(default_factory=dict)  # step -> {q: word changed}
    bracket: dict[str, list[int]] = field(default_factory=dict)
    guess: dict[str, int] = field(default_factory=dict)  # the step each open question asks for next
    stride: dict[str, int] = field(default_factory=dict)  # its gallop from the predicted step (0: bisecting)
    side: dict[str, bool] = field(default_factory=dict)  # whether the predicted step changed the word
    hits: dict[tuple[str, int], dict] = field(default_factory=dict)  # (q, step) -> what the flip reports

    @property
    def end(self) -> int:
        return len(self.points)

    def propose(self) -> int | None:
        """The next step to evaluate: the end (the screen), then the nearest step an open bracket asks for (a
        step strictly inside a bracket is one not evaluated yet)."""
        if self.end not in self.seen:
            return self.end
        asks = [min(max(self.guess[q], lo + 1), hi - 1) for q, (lo, hi) in self.bracket.items() if hi - lo > 1]
        return min(asks) if asks else None

    def open(self) -> list[str]:
        """The questions this lane still reads: all at the screen, then those with an open bracket."""
        if self.end not in self.seen:
            return self.questions
        return [q for q, (lo, hi) in self.bracket.items() if hi - lo > 1]


class _Flips:
    """The evaluations of one :func:`flips` call: counted, and reported through ``progress``."""

    def __init__(self, session: Session, base: Result, questions: list[str], progress: Progress | None):
        self.s, self.base, self.qids, self.progress = session, base, questions, progress
        self.r = r = base.resolved
        self.qvar = {q.id: q.variable for q in r.model.questions}
        self.p0 = {q: base.mean(f"q:{q}") for q in questions}
        self.w0 = {q: word(base, self.p0[q]) for q in questions}
        self.post = base.posterior
        self.inside = ancestral_set(r, {o.variable for o in r.evidence}) if self.post is not None else set()
        self.moved = self.inside | descendants(r, self.inside)  # what a change inside moves, through the posterior
        self.done, self.planned = 0, 0
        self.calls = dict.fromkeys(KINDS, 0)
        self._rows = None
        self._signs: dict[str, dict[str, set[int]]] = {}
        # events observed false: a claim from one adds g s beta x = 0 to its effect in every world and draw
        self.zero = {o.variable for o in r.evidence if o.kind == "event" and o.value == 0.0}
        self.ends: dict[str, dict[str, bool]] = {}  # claim -> {q: word changed at credence 0}, the screens'
        self.ruled_out = dict.fromkeys(questions, 0)  # single changes not evaluated: the exact forecast keeps the word

    # --- what reaches what ---------------------------------------------------------------------------

    def reach(self, target: str) -> frozenset:
        """The variables a change at ``target`` (a variable, or a claim's effect) can move."""
        own = descendants(self.r, [target]) | {target}
        return frozenset(own | self.moved if target in self.inside else own)

    def reached(self, variables: frozenset) -> list[str]:
        return [q for q in self.qids if self.qvar[q] in variables]

    def signs(self, v: str) -> dict[str, set[int]]:
        """The signs of the causal paths from ``v`` to each variable downstream (and to itself: +1)."""
        if v not in self._signs:
            out: dict[str, set[int]] = {v: {1}}
            for c in self.r.claims.values():
                if c.cause == v and c.credence > 0.0:
                    for w, ss in self.signs(c.effect).items():
                        out.setdefault(w, set()).update(c.sign * x for x in ss)
            self._signs[v] = out
        return self._signs[v]

    def bracketed(self, claim: str, weaker: dict, q: str) -> bool:
        """Whether a weaker strength of ``claim`` provably keeps ``q``'s word: outside the evidence's ancestral set
        the exact forecast is f = k0 f_on(beta) + (1 - k0) f_off, and f_on is monotone in beta when every path from
        the claim's effect to q has one sign (the cause's state is never negative); a stochastically smaller prior
        (:func:`_smaller`) then puts f between the baseline's and f_off, the forecast at credence 0, which the
        credence screen evaluated. Where both read the same word, so does everything between."""
        rc = self.r.claims[claim]
        return (rc.effect not in self.inside and _smaller(weaker, rc.effect_prior)
                and len(self.signs(rc.effect).get(self.qvar[q], {1, -1})) == 1
                and self.ends.get(claim, {}).get(q) is False)

    # --- evaluations ---------------------------------------------------------------------------------

    def setting(self, sets: dict[str, str]) -> Resolved:
        """The session's spec under ``sets``, as ``session.resolve(sets=sets)`` gives it: the values the spec layer
        makes of them (:func:`credence_value`, the prior set's strength words, :func:`probability_prior`) written
        into the baseline's resolved spec, without reading and checking the files again for each evaluation. A
        claim whose credence the prior set scales goes through ``session.resolve``."""
        r, pr = self.r, self.r.priors
        claims, variables = dict(r.claims), dict(r.variables)
        for key, value in sets.items():
            section, ident, what = key.split(".")
            over = pr.claims.get(ident)
            if section == "claims" and what == "credence" and not (over and over.scale is not None):
                claims[ident] = replace(claims[ident], credence=credence_value(parse_value(value), pr)[0])
            elif section == "claims" and what == "strength":
                claims[ident] = replace(claims[ident], effect_prior=pr.strength[value].to_dict())
            elif section == "variables" and what == "base":
                variables[ident] = replace(variables[ident], base=probability_prior(value, pr, "base")[0])
            else:
                return self.s.resolve(sets=sets)
        return replace(r, claims=claims, variables=variables)

    def plan(self, n: int) -> None:
        self.planned += n

    def tick(self, kind: str, what: str) -> None:
        self.done += 1
        self.calls[kind] += 1
        self.planned = max(self.planned, self.done)
        if self.progress:
            self.progress(self.done, self.planned, what)

    def variant(self, sets: dict[str, str], kind: str, what: str, claim: str | None = None) -> Result:
        """``base`` under ``sets`` (:meth:`Session.variant`, never sampled anew: Pareto k reported instead); with
        ``claim``, its credence set alone and reweighted by :func:`credence_posterior` where it can be."""
        r = self.setting(sets)
        rw = None
        if claim is not None and self.post is not None and self.rows() is not None:
            rw = credence_posterior(self.post, claim, r.claims[claim].credence, Numbers.of(r), self.rows())
        res = self.s.variant(self.base, r, reweighting=rw, resample=False)
        self.tick(kind, what)
        return res

    def rows(self) -> np.ndarray | None:
        """The baseline's gate rows per draw and configuration (:attr:`Recovery.rows`), computed once."""
        if self._rows is None and self.post is not None and isinstance(self.post.joint, Enumerated):
            self._rows = self.post.recovery.rows(self.post.numbers)
        return self._rows

    def outcome(self, res: Result, q: str) -> dict:
        """What a flip reports of the result it was read from."""
        k = res.diagnostics.get("pareto_k")
        p = stat(res, f"q:{q}")
        clear = all(word(res, p["mean"] + e * p["mcse"]) != self.w0[q] for e in (-2.0, 2.0))
        return {"probability": p, "pareto_k": None if k is None else float(k), "clear": clear,
                "trusted": k is None or float(k) <= PARETO_K_MAX, "to": p["word"]}

    def changed(self, res: Result, q: str) -> bool:
        return word(res, res.mean(f"q:{q}")) != self.w0[q]

    def flip(self, q: str, hit: dict, change: dict, size: float, **checks) -> dict:
        d = {"question": q, "from": self.w0[q], "to": hit["to"], "change": change, "probability": hit["probability"],
             "pareto_k": hit["pareto_k"], "trusted": hit["trusted"], "size": size}
        d.update(checks)
        d["firm"] = d["trusted"] and d.get("monotone", d.get("clear", True))
        return d

    # --- credences -----------------------------------------------------------------------------------

    def lanes(self) -> list[_Lane]:
        out = []
        for c, rc in self.r.claims.items():
            reach = self.reach(rc.effect)
            qs = self.reached(reach)
            over = self.r.priors.claims.get(c)
            if rc.credence in (0.0, 1.0) or rc.cause in self.zero or not qs or (over and over.scale is not None):
                continue  # a constant; a term 0 in every world; no question; a --set the prior set would scale
            down = [p for p in range(GRID, -1, -1) if p / GRID < rc.credence - 1e-9]
            up = [p for p in range(GRID + 1) if p / GRID > rc.credence + 1e-9]
            out += [_Lane(c, rc.credence, pts, qs, rc.effect in self.inside, reach) for pts in (down, up) if pts]
        return out

    def search(self, lanes: list[_Lane]) -> None:
        """Screen every lane at its end, then close every bracket; each round asks every lane for one step, and
        outside lanes that do not overlap are evaluated together."""
        while True:
            asks = [(lane, j) for lane in lanes if (j := lane.propose()) is not None]
            if not asks:
                return
            batches: list[list[tuple[_Lane, int]]] = []
            for lane, j in asks:
                home = None if lane.inside else next(
                    (b for b in batches if not b[0][0].inside and all(self.apart(lane, o) for o, _ in b)), None)
                if home is None:
                    batches.append([(lane, j)])
                else:
                    home.append((lane, j))
            self.plan(len(batches))
            for batch in batches:
                sets = {f"claims.{lane.claim}.credence": _text(lane.points[j - 1]) for lane, j in batch}
                what = ", ".join(f"{lane.claim} at {_text(lane.points[j - 1])}" for lane, j in batch)
                res = self.variant(sets, "credence", f"credence: {what}",
                                   claim=batch[0][0].claim if batch[0][0].inside else None)
                for lane, j in batch:
                    self.feed(lane, j, res)

    def apart(self, a: _Lane, b: _Lane) -> bool:
        """Whether two outside lanes can be evaluated together: neither claim reaches a question the other still
        reads (then each such question gets, draw for draw, its own lane's numbers) and they are two claims."""
        qa, qb = {self.qvar[q] for q in a.open()}, {self.qvar[q] for q in b.open()}
        return a.claim != b.claim and not (a.reach & qb) and not (b.reach & qa)

    def feed(self, lane: _Lane, j: int, res: Result) -> None:
        """Read one evaluation of ``lane`` at step ``j`` into its brackets (the questions it still reads only: the
        others may have been moved by a lane evaluated with it)."""
        flags = {q: self.changed(res, q) for q in lane.open()}
        lane.seen[j] = flags
        if j == lane.end and not lane.bracket:  # the screen: where the end keeps the word, every step does
            for q in lane.questions:
                if flags[q]:
                    lane.bracket[q] = [0, j]
                    lane.hits[(q, j)] = self.outcome(res, q)
                    lane.guess[q] = self.predict(lane, q, res.mean(f"q:{q}"))
            if lane.points[-1] == 0:
                self.ends[lane.claim] = flags
            return
        for q, (lo, hi) in lane.bracket.items():
            if not lo < j < hi:
                continue
            if flags[q]:
                lane.bracket[q][1] = j
                lane.hits[(q, j)] = self.outcome(res, q)
            else:
                lane.bracket[q][0] = j
            lo, hi = lane.bracket[q]
            # from the predicted step, gallop (1, 2, 4... steps) towards the crossing, then bisect once past it
            if q not in lane.stride:
                lane.stride[q], lane.side[q] = 1, flags[q]
            elif lane.stride[q] and flags[q] == lane.side[q]:
                lane.stride[q] *= 2
            else:
                lane.stride[q] = 0
            lane.guess[q] = (hi - lane.stride[q] if flags[q] else lo + lane.stride[q]) if lane.stride[q] \
                else (lo + hi) // 2

    def predict(self, lane: _Lane, q: str, f_end: float) -> int:
        """The first step at which the word changes on the exact curve through the baseline and the end:
        f(k) = f0 + (f_end - f0) (pi(k) - pi0) / (pi_end - pi0), pi(k) = k b / (k b + 1 - k) the claim's posterior
        credence, b its Bayes factor (posterior over prior odds at the baseline: 1 outside the evidence's
        ancestral set, where pi(k) = k)."""
        k0 = lane.kappa0
        pi0 = k0 if self.base.credence_post is None else float(np.clip(self.base.credence_post[lane.claim],
                                                                        1e-12, 1 - 1e-12))
        b = (pi0 / (1 - pi0)) / (k0 / (1 - k0))
        pi = lambda k: k * b / (k * b + 1 - k)  # noqa: E731
        f0, span = self.p0[q], pi(_credence(lane.points[-1])) - pi0
        for j, p in enumerate(lane.points, start=1):
            f = f0 + (f_end - f0) * ((pi(_credence(p)) - pi0) / span if span else j / lane.end)
            if word(self.base, f) != self.w0[q]:
                return j
        return lane.end

    def credence_flips(self, lanes: list[_Lane]) -> list[dict]:
        out = []
        for lane in lanes:
            for q, (lo, hi) in lane.bracket.items():
                to = lane.points[hi - 1] / GRID
                change = {"kind": "credence", "id": lane.claim, "from": round(lane.kappa0, 4), "to": to,
                          "set": {f"claims.{lane.claim}.credence": _text(lane.points[hi - 1])},
                          "one_step_less": None if lo == 0 else _text(lane.points[lo - 1])}
                monotone = all(flags[q] == (j >= hi) for j, flags in lane.seen.items() if q in flags)
                out.append(self.flip(q, lane.hits[(q, hi)], change, abs(to - lane.kappa0), monotone=monotone))
        return out

    # --- one-step changes and observations -----------------------------------------------------------

    def steps(self) -> list[tuple[str, str, str, str, dict, list[str]]]:
        """(kind, id, from, to, --set, questions) of every strength and base-rate step that reaches a question."""
        pr = self.r.priors
        out = []
        words = list(pr.strength)  # the order the prior set lists them (weak, moderate, strong by default)
        for c, rc in self.r.claims.items():
            qs = self.reached(self.reach(rc.effect))
            now = next((w for w in words if pr.strength[w].to_dict() == rc.effect_prior), None)
            if now is None or rc.credence == 0.0 or rc.cause in self.zero or not qs:  # its own prior, or no term
                continue
            i = words.index(now)
            weaker = words[max(i - 1, 0):i]
            if weaker and all(self.bracketed(c, pr.strength[weaker[0]].to_dict(), q) for q in qs):
                weaker = []  # the exact forecast cannot change word: not evaluated
                for q in qs:
                    self.ruled_out[q] += 1
            out += [("strength", c, now, to, {f"claims.{c}.strength": to}, qs) for to in weaker + words[i + 1:i + 2]]
        bands = sorted(pr.probability_words, key=lambda w: pr.probability_words[w][0])
        for v in self.r.order:
            base = self.r.variables[v].base
            qs = self.reached(self.reach(v))
            if "band" not in base or not qs:  # a fixed or explicit prior has no word to step from
                continue
            lo, hi = base["band"]
            now = next((w for w in bands if tuple(pr.probability_words[w]) == (lo, hi)), None)
            i = bands.index(now if now is not None else pr.word_for((lo + hi) / 2))
            shown = now if now is not None else f"{100 * lo:g}-{100 * hi:g}%"
            out += [("base", v, shown, to, {f"variables.{v}.base": to}, qs)
                    for to in bands[max(i - 1, 0):i] + bands[i + 1:i + 2]]
        return out

    def observation(self, kind: str, ob, qs: list[str], res: Result) -> list[dict]:
        change = {"kind": kind, "id": ob.id, "variable": ob.variable, "from": ob.value,
                  "to": None if kind == "removed" else 1.0 - ob.value, "set": None}
        if kind == "reversed" and ob.kind == "event":
            change["observe"] = {ob.variable: f"{1.0 - ob.value:g}"}
        return [self.flip(q, hit, change, 1.0, clear=hit["clear"])
                for q in qs if self.changed(res, q) for hit in [self.outcome(res, q)]]


def flips(session: Session, base: Result, questions: list[str] | None = None, progress: Progress | None = None,
          kinds: tuple[str, ...] = KINDS) -> dict:
    """The single changes that move each key judgment's ICD 203 word, least first (see the module docstring).

    Parameters
    ----------
    session, base
        The session and its baseline run (``session.run()``: unweighted, no interventions).
    questions
        Question ids (default: every question with a probability: events and thresholded indices).
    progress
        Called as ``progress(done, planned, text)`` after each evaluation (``planned`` grows as searches open).
    kinds
        Which changes to try, of ``KINDS``.

    Returns
    -------
    ``{"model", "questions": {qid: {"question", "text", "variable", "word", "probability" (summary.stat),
    "flips": [...], "none", "candidates"}}, "evaluations": {"total", and per kind}, "credence_ends",
    "pareto_k_max", "kinds"}``; ``none``: no single change flips it; ``candidates``: the single changes that
    reach it (a credence moved one way counting once), evaluated or ruled out by the exact forecast.

    A flip: ``{"question", "from" (word), "to" (word), "change", "probability" (summary.stat of the changed
    result: mean, lo, hi, mcse, word), "pareto_k" (None where nothing was reweighted), "trusted" (k at most
    PARETO_K_MAX), "size", "firm"}``; a credence flip has ``"monotone"`` (every point evaluated on the way agrees
    with one crossing), any other ``"clear"`` (the new word holds 2 Monte Carlo errors either side); ``firm``:
    trusted and monotone (or clear). ``change``: ``{"kind", "id", "from", "to", "set"}``, ``set`` the ``--set``
    overrides that reproduce it (None for an observation); a credence also ``"one_step_less"`` (the ``--set``
    value 0.01 less far, which keeps the word; None where that is the current credence); an observation also
    ``"variable"`` and, for an event reversed, ``"observe"`` (the ``--observe`` of its fresh posterior).

    Flips are listed firm ones first, then by kind (credence; a strength or base-rate word; the evidence), by
    size within a kind (the credence moved; one step or one observation otherwise), the larger
    move of the probability first.
    """
    r = base.resolved
    if base.weights is not None or base.do:
        raise ValueError("flips(): base must be the session's own run (unweighted, no interventions)")
    bad = sorted(set(kinds) - set(KINDS))
    if bad:
        raise ValueError(f"flips(): unknown kinds {bad}; known: {list(KINDS)}")
    questions = [q.id for q in worded_questions(r, questions)]
    f = _Flips(session, base, questions, progress)
    qs_obs = f.reached(frozenset(f.moved)) if f.post is not None else []
    if "removed" in kinds and qs_obs:
        session.prefetch_without(base)  # fresh posteriors for what reweighting cannot leave out, in the background
    found: list[dict] = []
    counted = dict.fromkeys(f.qids, 0)

    lanes = f.lanes() if "credence" in kinds else []
    f.search(lanes)
    found += f.credence_flips(lanes)
    steps = [s for s in f.steps() if s[0] in kinds]
    f.plan(len(steps))
    for kind, ident, now, to, sets, qs in steps:
        res = f.variant(sets, kind, f"{kind}: {ident} {to}")
        found += [f.flip(q, hit, {"kind": kind, "id": ident, "from": now, "to": to, "set": sets}, 1.0,
                         clear=hit["clear"]) for q in qs if f.changed(res, q) for hit in [f.outcome(res, q)]]
    reversible = [o for o in r.evidence if o.kind == "soft" or (
        o.kind == "event" and sum(e.variable == o.variable and e.kind == "event" for e in r.evidence) == 1)]
    flipped = {}  # observation -> whether its reversal flips a question
    if qs_obs and "reversed" in kinds:
        f.plan(len(reversible))
        for ob in reversible:
            res = session.reversed(base, ob.id)
            f.tick("reversed", f"reversed: {ob.id}")
            mine = f.observation("reversed", ob, qs_obs, res)
            flipped[ob.id] = bool(mine)
            found += mine
    if qs_obs and "removed" in kinds:
        # left out lies between kept and reversed: only where the reversal flips a question, or there is none
        left = [o for o in r.evidence if flipped.get(o.id, True)]
        f.plan(len(left))
        for ob in left:
            res = session.without(base, ob.id)
            f.tick("removed", f"removed: {ob.id}")
            found += f.observation("removed", ob, qs_obs, res)
    for lane in lanes:
        for q in lane.questions:
            counted[q] += 1
    for *_, qs in steps:
        for q in qs:
            counted[q] += 1
    for q in qs_obs:
        counted[q] += len(reversible) * ("reversed" in kinds) + len(r.evidence) * ("removed" in kinds)
    for q, n in f.ruled_out.items():
        counted[q] += n

    out = {}
    for q in f.qids:
        mine = sorted((d for d in found if d["question"] == q), key=lambda d: (
            not d["firm"], ORDER[d["change"]["kind"]], d["size"], -abs(d["probability"]["mean"] - f.p0[q]),
            d["change"]["kind"], d["change"]["id"]))
        qm = next(x for x in r.model.questions if x.id == q)
        out[q] = {"question": q, "text": qm.text, "variable": qm.variable, "word": f.w0[q],
                  "probability": stat(base, f"q:{q}"), "flips": mine, "none": not mine, "candidates": counted[q]}
    return {"model": r.model.info.id, "questions": out, "evaluations": {"total": f.done, **f.calls},
            "credence_ends": [EPS, 1.0 - EPS], "pareto_k_max": PARETO_K_MAX, "kinds": list(kinds)}


__all__ = ["EPS", "KINDS", "credence_posterior", "flips"]
