# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One worker process per BMC, bounded parallelism, a hard deadline each (private, may change).

Why processes: pyghmi shares one I/O thread and session table per process;
with many threads it deadlocks (two internal locks taken in opposite order),
and a login that never completes is retried forever.  A forked worker per BMC
isolates both, and the parent kills a worker whose deadline passed.

Workers report through a pipe: ``("progress", dict)`` any number of times,
then ``("done", dict)``.  The last progress report is kept when a worker is
killed, so a timed-out fence still returns the states it saw.  The parent must
not have opened a pyghmi session before forking (the module never does).
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Dict, List, Optional, Sequence

Report = Callable[[Dict[str, Any]], None]
Work = Callable[[Any, Report], Dict[str, Any]]
# (partial progress or None, deadline in seconds) -> result for a killed worker
OnDeadline = Callable[[Any, Optional[Dict[str, Any]], float], Dict[str, Any]]

DEFAULT_PARALLEL = 16
MAX_PARALLEL = 128
_KILL_GRACE = 2.0


def _child(work: Work, job: Any, conn: Connection) -> None:
    # Ansible reads the module's JSON from stdout, and pyghmi prints on some
    # errors: a worker must never write to the inherited stdout/stderr.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = os.fdopen(devnull, "w")

    def report(progress: Dict[str, Any]) -> None:
        conn.send(("progress", progress))

    try:
        result = work(job, report)
    except BaseException as exc:  # the parent must always get an answer
        # only the type: the arguments of an unknown exception may hold a password
        msg = "internal error in the IPMI worker: %s" % type(exc).__name__
        result = {"failed": True, "msg": msg, "error": {"kind": "error", "msg": msg}}
    conn.send(("done", result))
    conn.close()


class _Running:
    def __init__(self, index: int, process: Any, conn: Connection, deadline: float, budget: float) -> None:
        self.index = index
        self.process = process
        self.conn = conn
        self.deadline = deadline
        self.budget = budget
        self.progress: Optional[Dict[str, Any]] = None


def run_jobs(jobs: Sequence[Any], work: Work, budget: Callable[[Any], float], on_deadline: OnDeadline,
             parallel: int = DEFAULT_PARALLEL) -> List[Dict[str, Any]]:
    """Run ``work(job, report)`` for every job, at most ``parallel`` at once; results in job order."""
    parallel = max(1, min(parallel, MAX_PARALLEL, len(jobs) or 1))
    if "fork" not in multiprocessing.get_all_start_methods():
        return _run_inline(jobs, work)
    context = multiprocessing.get_context("fork")
    results: List[Optional[Dict[str, Any]]] = [None] * len(jobs)
    pending = list(enumerate(jobs))
    running: Dict[Connection, _Running] = {}
    while pending or running:
        while pending and len(running) < parallel:
            index, job = pending.pop(0)
            parent_conn, child_conn = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(work, job, child_conn), daemon=True)
            process.start()
            child_conn.close()
            seconds = budget(job)
            running[parent_conn] = _Running(index, process, parent_conn, time.monotonic() + seconds, seconds)
        now = time.monotonic()
        nearest = min(item.deadline for item in running.values())
        ready = wait(list(running), timeout=max(0.0, nearest - now))
        for conn in ready:
            item = running[conn]  # type: ignore[index]
            final = _drain(item)
            if final is not None or item.conn.closed:
                results[item.index] = final if final is not None else _lost(item)
                _reap(item)
                del running[item.conn]
        now = time.monotonic()
        for conn, item in list(running.items()):
            if now >= item.deadline:
                item.process.kill()
                results[item.index] = on_deadline(jobs[item.index], item.progress, item.budget)
                _reap(item)
                del running[conn]
    return [result if result is not None else {} for result in results]


def _drain(item: _Running) -> Optional[Dict[str, Any]]:
    """Read every message waiting; return the final result if it came."""
    try:
        while item.conn.poll():
            kind, payload = item.conn.recv()
            if kind == "done":
                return dict(payload)
            item.progress = dict(payload)
    except (EOFError, OSError):
        item.conn.close()
    return None


def _lost(item: _Running) -> Dict[str, Any]:
    item.process.join(_KILL_GRACE)
    msg = "the IPMI worker process ended without a result (exit code %s)" % item.process.exitcode
    return {"failed": True, "msg": msg, "error": {"kind": "error", "msg": msg}, "progress": item.progress}


def _reap(item: _Running) -> None:
    item.process.join(_KILL_GRACE)
    if item.process.is_alive():
        item.process.kill()
        item.process.join(_KILL_GRACE)
    if not item.conn.closed:
        item.conn.close()


def _run_inline(jobs: Sequence[Any], work: Work) -> List[Dict[str, Any]]:
    """Platforms without fork: one after the other, in this process, without a hard deadline."""
    results: List[Dict[str, Any]] = []
    for job in jobs:
        results.append(work(job, lambda _progress: None))
    return results
