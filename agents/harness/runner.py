"""Where a command's tasks run: one after another in this process, on a pool of spawned processes, or as Ray tasks.

``benchmark`` runs its trials here, and ``tune --workers`` / ``--ray`` its study workers. A task is any picklable
object and ``fn`` a top-level function of it (a pool or Ray ships both by reference); each result comes back to
this process, which hands it to ``on_done`` as it arrives. In a worker process ``fn`` runs with one torch thread
(the tasks run side by side, one per core). A task that fails does not stop the others: its error is raised once
they are done. Ctrl-C stops every running task once -- ``fn`` gets a ``KeyboardInterrupt``, so that it can save
its work first -- and is raised here when they have stopped.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from agents.errors import UserError
from agents.harness.runtime import fresh_compile_caches

# Ray tasks that train on a GPU each ask for this share of one (these networks are small; 4 tasks share a GPU).
RAY_GPU_SHARE = 0.25

Task = TypeVar("Task")
Result = TypeVar("Result")


def default_workers(n_tasks: int) -> int:
    """Workers of a local pool by default: one per CPU core, at most one per task."""
    return max(1, min(n_tasks, os.cpu_count() or 1))


def run_tasks(
    fn: Callable[[Task], Result],
    tasks: Sequence[Task],
    on_done: Callable[[Task, Result], None] | None = None,
    workers: int | None = None,
    ray: Any = None,
    cuda: bool = False,
    in_worker: Callable[[Task], Task] | None = None,
    label: Callable[[Task], str] | None = None,
    kind: str = "task",
) -> None:
    """Run ``fn(task)`` for every task and pass each result to ``on_done(task, result)`` in this process.

    :param workers: tasks at once: a pool of that many spawned processes (default :func:`default_workers`); 1, or
        a single task, runs them one after another in this process, where the first error stops them. With
        ``ray``: a cap on the tasks in flight (default all).
    :param ray: the ``ray`` module, connected (:func:`ray_connection`): run the tasks as Ray tasks of one CPU each.
    :param cuda: the tasks train on a GPU: each Ray task asks for :data:`RAY_GPU_SHARE` of one (a Ray task
        without a GPU share sees none).
    :param in_worker: the task as a worker process runs it (e.g. without progress bars, which would overwrite
        each other); not applied in this process.
    :param label: names a task in the error of a failed one (a :class:`UserError` is prefixed with it).
    :param kind: what a task is, in those messages ("trial", "worker").
    """
    if ray is not None:
        _run_on_ray(ray, fn, [_prepare(t, in_worker) for t in tasks], workers or len(tasks), cuda, on_done, label, kind)
        return
    n_workers = workers or default_workers(len(tasks))
    if n_workers == 1 or len(tasks) <= 1:
        for task in tasks:
            try:
                fresh_compile_caches()
                result = fn(task)
            except UserError as err:
                if label is None:
                    raise
                raise UserError(f"{label(task)}: {err}") from None
            if on_done is not None:
                on_done(task, result)
        return
    _run_on_pool(fn, [_prepare(t, in_worker) for t in tasks], n_workers, on_done, label, kind)


def _prepare(task: Task, in_worker: Callable[[Task], Task] | None) -> Task:
    return task if in_worker is None else in_worker(task)


# --- in a worker process ------------------------------------------------------------------------------------


# A pool worker's state, seen by its watchdog thread: whether a task runs, and whether the parent has gone.
_worker = {"running": False, "orphaned": False}


def _call_in_worker(fn: Callable[[Task], Result], task: Task, where: str) -> Result:
    """``fn(task)`` in a worker process (``where``: ``"pool"`` or ``"ray"``): one torch thread, and on a pool a
    Ctrl-C interrupts ``fn`` once, so that what it saves on a ``KeyboardInterrupt`` gets written whole. A pool
    worker whose parent has gone starts no task and exits after the one it was running has saved its work."""
    if where == "pool" and _worker["orphaned"]:
        os._exit(1)
    _one_thread()
    fresh_compile_caches()
    if where == "pool":
        signal.signal(signal.SIGINT, _interrupt_once)
        _worker["running"] = True
    try:
        return fn(task)
    finally:
        if where == "pool":
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            _worker["running"] = False
            if _worker["orphaned"]:
                os._exit(1)


def _one_thread() -> None:
    """One torch thread per worker: the tasks run side by side, one per core."""
    import torch

    os.environ["HRM_MAZES_THREADS"] = "1"  # what train's configure_threads reads
    torch.set_num_threads(1)


def _pool_worker_init() -> None:
    """A pool worker ignores Ctrl-C while idle (:func:`_call_in_worker` takes it during a task), and a watchdog
    thread stops it when the parent process dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True, name="parent-watchdog").start()


def _watch_parent(parent: int, interval: float = 0.5) -> None:
    """Stop this worker once ``parent`` has gone (killed with SIGKILL, or by a signal it could not handle): a
    running task gets its Ctrl-C and saves its work, an idle worker exits. Without it the orphan would train the
    trials the pool had already queued for it, with nobody to collect their results."""
    while os.getppid() == parent:
        time.sleep(interval)
    _worker["orphaned"] = True
    if _worker["running"]:
        os.kill(os.getpid(), signal.SIGINT)
    else:
        os._exit(1)


def _interrupt_once(signum: int, frame: Any) -> None:
    """Stop the task at the first Ctrl-C and ignore the next ones, so that its checkpoint gets written."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


# --- a local process pool -----------------------------------------------------------------------------------


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ctrl-C ignored inside the block (processes started in it inherit that); only the main thread can."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)


def _run_on_pool(
    fn: Callable[[Task], Result],
    tasks: list[Task],
    workers: int,
    on_done: Callable[[Task, Result], None] | None,
    label: Callable[[Task], str] | None,
    kind: str,
) -> None:
    """The tasks on ``workers`` spawned processes. Ctrl-C interrupts every running task and then stops."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    failures: list[tuple[Task, BaseException]] = []
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no torch state forked from this one
    with _sigint_ignored():  # the workers inherit it: a Ctrl-C while they start or idle does not kill them
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_pool_worker_init)
        futures = {pool.submit(_call_in_worker, fn, task, "pool"): task for task in tasks}  # (starts the workers)
    with pool:
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    error = future.exception()
                    if isinstance(error, KeyboardInterrupt):
                        raise error
                    if error is not None:
                        failures.append((futures[future], error))
                    elif on_done is not None:
                        on_done(futures[future], future.result())
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            while not all(future.done() for future in pending):  # each running task saves its work
                for child in multiprocessing.active_children():  # again each second: a task may start after one
                    try:
                        os.kill(child.pid, signal.SIGINT)
                    except OSError:
                        pass
                wait(pending, timeout=1.0)
            raise KeyboardInterrupt from None
    _raise_failures(failures, label, kind)


# --- Ray ----------------------------------------------------------------------------------------------------


def import_ray() -> Any:
    """The ``ray`` module; without it a one-line :class:`UserError` naming the extra."""
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray: pip install 'hrm-mazes[ray]' (the 'ray' extra)") from None
    return ray


@contextmanager
def ray_connection(ray: Any, address: str | None) -> Iterator[None]:
    """Within the block this process is connected to the Ray cluster at ``address`` (``"local"``: a new instance
    started here), shut down after; nothing happens when ``ray`` is None. A bad address is a one-line error."""
    if ray is None:
        yield
        return
    if address is None or not address.strip():
        raise UserError("--ray needs a cluster address (such as ray://host:10001 or auto), or 'local'")
    try:
        if address == "local":
            ray.init()
        else:
            ray.init(address=address)
    except Exception as err:  # Ray raises ConnectionError, ValueError, RuntimeError... for a bad address
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UserError(f"--ray {address}: cannot start or reach a Ray cluster ({reason})") from None
    try:
        yield
    finally:
        ray.shutdown()


def ray_cpus(ray: Any) -> int:
    """The CPUs of the connected Ray cluster (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _run_on_ray(
    ray: Any,
    fn: Callable[[Task], Result],
    tasks: list[Task],
    in_flight: int,
    cuda: bool,
    on_done: Callable[[Task, Result], None] | None,
    label: Callable[[Task], str] | None,
    kind: str,
) -> None:
    """The tasks as Ray tasks, at most ``in_flight`` at once. What they write must be on a file system that every
    node and this machine see. Ctrl-C cancels the running tasks (each gets a ``KeyboardInterrupt``) and waits."""
    from ray.exceptions import RayTaskError, TaskCancelledError

    failures: list[tuple[Task, BaseException]] = []
    # Named after fn, so that Ray prefixes the workers' lines with "(run_trial pid=...)".
    remote = ray.remote(num_cpus=1)(_call_in_worker).options(name=fn.__name__, num_gpus=RAY_GPU_SHARE if cuda else 0)
    waiting = list(tasks)
    running: dict[Any, Task] = {}
    try:
        while waiting or running:
            while waiting and len(running) < in_flight:
                task = waiting.pop(0)
                running[remote.remote(fn, task, "ray")] = task
            finished, _ = ray.wait(list(running), num_returns=1)
            for ref in finished:
                task = running.pop(ref)
                try:
                    result = ray.get(ref)
                except TaskCancelledError:
                    raise KeyboardInterrupt from None
                except RayTaskError as err:
                    cause = getattr(err, "cause", None) or err
                    if isinstance(cause, KeyboardInterrupt):
                        raise KeyboardInterrupt from None
                    failures.append((task, cause))
                    continue
                if on_done is not None:
                    on_done(task, result)
    except KeyboardInterrupt:
        for ref in running:
            ray.cancel(ref)  # a KeyboardInterrupt in the task: it saves its work
        if running:
            ray.wait(list(running), num_returns=len(running), timeout=300)
        raise
    _raise_failures(failures, label, kind)


def _raise_failures(failures: list[tuple[Any, BaseException]], label: Callable[[Any], str] | None, kind: str) -> None:
    """The first failed task's error (a :class:`UserError` prefixed with its label), after the others finished."""
    if not failures:
        return
    task, error = failures[0]
    more = f" ({len(failures) - 1} more {kind}(s) failed)" if len(failures) > 1 else ""
    if isinstance(error, UserError):
        prefix = "" if label is None else f"{label(task)}: "
        raise UserError(f"{prefix}{error}{more}; the other {kind}s finished: fix it and rerun with --resume") from None
    name = f"a {kind}" if label is None else label(task)
    print(f"{name} failed{more}; the other {kind}s finished (rerun with --resume)", flush=True)
    raise error
