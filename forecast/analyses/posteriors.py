"""The posteriors of one session: each sampled once, in turn or in a background thread.

A report needs a few fresh posteriors besides the baseline (an observation or a prior change the baseline's
draws cannot carry). :meth:`Posteriors.prefetch` starts one in a background thread as soon as it is known to
be needed; :meth:`Posteriors.get` picks it up (waiting if it must) or samples it in turn. The sampler's own
work (XLA's compile, the chains) runs outside Python's lock, so it overlaps with what the caller does
meanwhile. The draws are the same either way: same seed and start, and a model of its own (nothing is
shared with the caller's engines).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from forecast.analyses.posterior import Posterior
from forecast.compile import Numbers
from forecast.spec.resolve import Resolved

Sampler = Callable[[Resolved, Numbers, bool, Posterior | None], Posterior]  # (spec, numbers, progress, start)


class Posteriors:
    """Posteriors keyed by hyperparameters and evidence; ``sample`` draws one (see ``Session._sample``)."""

    def __init__(self, sample: Sampler):
        self.sample = sample
        self.done: dict[tuple, Posterior] = {}
        self.pending: dict[tuple, Future] = {}  # sampled in the background (``prefetch``)
        self._executor: ThreadPoolExecutor | None = None

    @staticmethod
    def key(r: Resolved, numbers: Numbers) -> tuple:
        return tuple(sorted(numbers.hyper_values().items())), r.evidence

    def get(self, r: Resolved, numbers: Numbers, progress: bool, start: Posterior | None = None) -> Posterior:
        """``r``'s posterior, sampled once. ``start``: a posterior whose sampler's end the new chains start
        from (``nuts.Warm``: the fall-backs of ``Session.variant`` and ``Session.without``)."""
        key = self.key(r, numbers)
        if key in self.pending:
            self.done[key] = self.pending.pop(key).result()
        if key not in self.done:
            self.done[key] = self.sample(r, numbers, progress, start)
        return self.done[key]

    def prefetch(self, r: Resolved, start: Posterior | None = None) -> None:
        """Start sampling ``r``'s posterior in a background thread (nothing to do without evidence)."""
        numbers = Numbers.of(r)
        key = self.key(r, numbers)
        if key in self.done or key in self.pending or not r.evidence:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posterior")
        self.pending[key] = self._executor.submit(self.sample, r, numbers, False, start)
