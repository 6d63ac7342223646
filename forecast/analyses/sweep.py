"""Independent tasks on Dask: one function over many inputs, serially, on a LocalCluster or an existing cluster.

A sweep (``forecast history``'s dates; later ``score`` over prior sets and seeds) is a list of tasks that share
nothing but the model file. :func:`run_tasks` runs ``fn`` over them with ``dask.distributed``:

* ``workers=1`` (or a single task) and no scheduler: in this process, one after the other (no cluster to
  start, nothing pickled);
* otherwise, without ``scheduler``: a ``LocalCluster`` of worker *processes* (``workers``, default the
  machine's cores, never more than there are tasks), one thread each, torn down at the end;
* ``scheduler``: the cluster behind that address (``dask scheduler`` and ``dask worker`` started by hand, or
  any other), which stays up; its workers must see the same files (this machine or a shared file system).

A task's answer must not depend on where it ran (same inputs, same seed: same numbers), so the three give the
same results; the caller's ``fn`` must be a module-level function (it is pickled by name) returning plain data.
Scratch files stay out of the system's temp directory: the LocalCluster's work folders and its workers' temporary
files go to a folder of this run (inside the command's own scratch folder), removed at the end; an existing
cluster's workers write to their own ``$FORECAST_CACHE/tmp/<pid>`` while the sweep runs
(:func:`forecast.spec.scratch.use_private_tempdir`), removed when it ends.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin

from forecast.spec.errors import Problem, SpecError

CONNECT_TIMEOUT = 10.0  # seconds to reach a scheduler given by --scheduler, and for it to have a worker
MAX_WORKERS = 256
PLUGIN = "forecast-scratch"

# (tasks done, tasks in all, where they run): called once before the first task ends (done = 0) and after each
Progress = Callable[[int, int, str], None]


def scheduler_problems(address: str | None, workers: int | None) -> list[Problem]:
    """What is wrong with ``--scheduler`` / ``--workers`` before anything runs (reaching the scheduler is
    checked when the sweep starts, before any task)."""
    problems = []
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        problems.append(Problem("--workers", str(workers), f"expected 1 to {MAX_WORKERS}"))
    if address is None:
        return problems
    if workers is not None:
        problems.append(Problem("--workers", str(workers), "applies to the local cluster only: with --scheduler "
                                                         "the tasks run on that cluster's workers"))
    from distributed.comm.addressing import parse_address
    from distributed.comm.registry import get_backend

    try:
        scheme, loc = parse_address(address.strip())
        get_backend(scheme)
        if not loc or loc.startswith(":") or any(c.isspace() for c in loc):
            raise ValueError("no host")
    except (ValueError, TypeError):
        problems.append(Problem("--scheduler", address, "not a Dask scheduler address (expected e.g. "
                                                        "tcp://127.0.0.1:8786, as `dask scheduler` prints it)"))
    return problems


def run_tasks(fn: Callable[[Any], Any], tasks: Sequence[Any], *, scheduler: str | None = None,
              workers: int | None = None, progress: Progress | None = None,
              priorities: Sequence[int] | None = None) -> list[Any]:
    """``[fn(t) for t in tasks]``, in this process, on a LocalCluster or on the cluster at ``scheduler`` (see the
    module docstring); results in the order of ``tasks``. ``priorities``: higher first (the longest tasks, so that
    no worker is left with one long task at the end). A scheduler that cannot be reached, or has no worker within
    ``CONNECT_TIMEOUT``, is a :class:`SpecError` (exit 2) raised before any task runs."""
    tasks = list(tasks)
    say = progress or (lambda done, total, where: None)
    bad = scheduler_problems(scheduler, workers)
    if bad:
        raise SpecError(bad)
    n = min(workers or os.cpu_count() or 1, max(len(tasks), 1))
    if scheduler is None and n <= 1:
        where = "in this process"
        say(0, len(tasks), where)
        out = []
        for i, t in enumerate(tasks, 1):
            out.append(fn(t))
            say(i, len(tasks), where)
        return out
    with _client(scheduler, n) as (client, where):
        from distributed import as_completed

        say(0, len(tasks), where)
        prio = list(priorities) if priorities is not None else [0] * len(tasks)
        futures = [client.submit(fn, t, pure=False, priority=p) for t, p in zip(tasks, prio)]
        released = scheduler is not None
        for i, _ in enumerate(as_completed(futures, loop=client.loop), 1):
            say(i, len(tasks), where)
            if not released and len(tasks) - i < n:  # fewer tasks left than workers: every core to the last ones
                client.run(unpin)
                released = True
        return client.gather(futures)


@contextmanager
def _client(scheduler: str | None, n: int) -> Iterator[tuple[Any, str]]:
    """A connected ``distributed.Client`` and a description of where its tasks run; the LocalCluster (when one
    was started) and the workers' scratch folders are gone when it ends."""
    from distributed import Client, LocalCluster

    scratch = Path(tempfile.mkdtemp(prefix="forecast-dask-"))  # the command's own scratch folder under the CLI
    cluster = client = plugin = None
    quiet = logging.getLogger("distributed")  # its INFO lines (workers starting, closing) are not the user's news
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        if scheduler is None:
            # no dashboard; the scheduler's HTTP server (always started) on a free port, not 8787
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                   silence_logs=logging.ERROR, local_directory=str(scratch))
            client = Client(cluster, set_as_default=False)
            where = f"on a local Dask cluster of {n} worker processes"
        else:
            client = _connect(scheduler)
            k = len(client.scheduler_info()["workers"])
            where = f"on the Dask cluster at {scheduler} ({k} worker{'s' * (k != 1)})"
        plugin = Scratch(str(scratch) if cluster is not None else None)
        client.register_plugin(plugin, name=plugin.name)
        if cluster is not None:
            client.register_plugin(Pin(n), name=f"forecast-pin-{plugin.name}")
        yield client, where
    finally:
        try:
            if plugin is not None and cluster is None:  # an existing cluster's workers: their scratch removed
                client.unregister_worker_plugin(plugin.name)
        except Exception:  # noqa: BLE001 - a worker gone meanwhile: its folder is removed by the next command
            pass
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(scratch, ignore_errors=True)
        quiet.setLevel(level)


def _connect(address: str):
    """A client of the scheduler at ``address`` with at least one worker, or a SpecError saying why not."""
    from distributed import Client

    try:
        client = Client(address.strip(), timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        why = f"cannot reach a Dask scheduler there within {CONNECT_TIMEOUT:g} s ({type(err).__name__}: {err})"
        raise SpecError([Problem("--scheduler", address, why)]) from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError):
        client.close()
        raise SpecError([Problem("--scheduler", address, f"the scheduler has no worker (none joined within "
                                                         f"{CONNECT_TIMEOUT:g} s): start one with `dask worker "
                                                         f"{address}`")]) from None
    return client


class Pin(WorkerPlugin):
    """A LocalCluster's worker on cores of its own: worker ``i`` of ``n`` keeps the ``i``-th ``n``-th of the cores
    (every thread of the process, and those it starts later). Unpinned, two workers each running their chains side
    by side on both cores of a 2-core machine thrash: measured on Hanoi, two runs at once took 21 s unpinned and
    15 s pinned, one run alone 14 s. The numbers do not change: the chains' XLA devices are counted from the
    machine's cores (``nuts._configure_jax``), not from the process's share of them. Nothing is pinned when
    there are more workers than cores, or where the system cannot pin (not Linux)."""

    def __init__(self, n: int):
        self.n = n

    def setup(self, worker=None) -> None:
        if not hasattr(os, "sched_setaffinity") or not isinstance(getattr(worker, "name", None), int):
            return
        cores = sorted(os.sched_getaffinity(0))
        if self.n > len(cores):
            return
        _CORES[:] = cores
        i = worker.name % self.n
        _pin(set(cores[i * len(cores) // self.n:(i + 1) * len(cores) // self.n]))


_CORES: list[int] = []  # in a pinned worker: the cores it had before


def _pin(cores: set[int]) -> None:
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cores)
        except OSError:  # a thread that ended meanwhile
            pass


def unpin() -> None:
    """A pinned worker back on every core it had (run on every worker by :func:`run_tasks` once fewer tasks are
    left than workers: the last runs then use the cores the idle workers no longer need)."""
    if _CORES:
        _pin(set(_CORES))


_SWEEPS: dict[str, str | None] = {}  # in a worker: the sweeps whose Scratch is active -> the tempdir before the first


class Scratch(WorkerPlugin):
    """A Dask worker plugin: the worker's temporary files (PyTensor's generated JAX sources) in a folder of the
    sweep's (``folder``: the LocalCluster's, removed with it) or in ``$FORECAST_CACHE/tmp/<pid>`` (an existing
    cluster's worker), not in the system's temp directory; put back as it was when the last sweep using the worker
    removes its plugin (two histories may share an existing cluster: the first to end must not pull the folder
    from under the other)."""

    def __init__(self, folder: str | None):
        self.folder = folder
        self.name = f"{PLUGIN}-{uuid.uuid4().hex[:12]}"

    def setup(self, worker=None) -> None:  # noqa: ARG002
        if not _SWEEPS:
            before = tempfile.tempdir
            if self.folder is None:
                from forecast.spec.scratch import use_private_tempdir

                use_private_tempdir()
            else:
                tempfile.tempdir = tempfile.mkdtemp(prefix=f"worker-{os.getpid()}-", dir=self.folder)
            _SWEEPS[self.name] = before
        else:
            _SWEEPS[self.name] = None

    def teardown(self, worker=None) -> None:  # noqa: ARG002
        if self.name not in _SWEEPS:  # never set up here
            return
        before = _SWEEPS.pop(self.name)
        if not _SWEEPS and tempfile.tempdir is not None:
            mine, tempfile.tempdir = tempfile.tempdir, before
            shutil.rmtree(mine, ignore_errors=True)
        if self.folder is not None:  # our LocalCluster's worker, about to exit: its interpreter's last garbage
            gc.freeze()  # collections over PyMC's and JAX's objects took ~3 s of the cluster's close (measured)


__all__ = ["CONNECT_TIMEOUT", "Pin", "Scratch", "run_tasks", "scheduler_problems"]
