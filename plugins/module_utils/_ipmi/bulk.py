# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Info, power and fence over many BMCs in one call (private, may change).

Each BMC runs in its own worker (see ``pool``) with a hard deadline: twice
the exchange timeout of the target (login, then the commands outside any
wait) plus the time the operation may legitimately take (waits, power
timeouts, retries, delay).  Every BMC gets a result,
whatever happens to the others.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .client import BmcConnection, SessionFactory
from .errors import BmcTimedOut, BmcUnreachable, IpmiError
from .fence import FenceRequest, fence, new_record
from .clock import Clock
from .pool import DEFAULT_PARALLEL, Report, run_jobs
from .power import PowerRequest, set_power
from .target import BmcTarget

_LOGOUT_ALLOWANCE = 2.0

# unit tests swap the pyghmi session for a fake at this boundary
session_factory: Optional[SessionFactory] = None


def _base(target: BmcTarget) -> Dict[str, Any]:
    result = target.public()
    result["failed"] = False
    return result


def _fail(result: Dict[str, Any], error: IpmiError) -> Dict[str, Any]:
    result["failed"] = True
    result["error"] = error.to_result()
    result["msg"] = str(error)
    return result


def _unexpected(target: BmcTarget, exc: Exception) -> IpmiError:
    """An exception that is not an IpmiError (a bug, a pyghmi surprise), its text without the password."""
    text = str(exc)
    if target.password:
        text = text.replace(target.password, "********")
    return IpmiError("BMC %s: unexpected %s: %s" % (target.label, type(exc).__name__, text), bmc=target.name)


def _named(targets: Sequence[BmcTarget], results: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Every result names its BMC; one from a worker that crashed or died counts as failed (never as success)."""
    named = []
    for target, result in zip(targets, results):
        if "name" not in result:
            error = result.get("error") or {"kind": "error", "msg": "no result from the IPMI worker"}
            complete = _base(target)
            complete.update(failed=True, error=error, msg="BMC %s: %s" % (target.label, error.get("msg")))
            result = complete
        named.append(result)
    return named


def _run_on(target: BmcTarget, report: Report, body: Callable[[BmcConnection, Dict[str, Any]], None],
            result: Dict[str, Any]) -> Dict[str, Any]:
    started = time.monotonic()
    report({"stage": "login"})
    try:
        with BmcConnection(target, session_factory) as conn:
            result["authenticated"] = True
            report({"stage": "logged_in"})
            body(conn, result)
    except IpmiError as error:
        _fail(result, error)
    except Exception as exc:  # reported per BMC, never as success
        _fail(result, _unexpected(target, exc))
    result["elapsed"] = round(time.monotonic() - started, 3)
    return result


def _deadline_error(target: BmcTarget, progress: Optional[Dict[str, Any]], budget: float) -> IpmiError:
    stage = (progress or {}).get("stage", "login")
    if stage == "login":
        return BmcUnreachable("BMC %s did not complete an IPMI login within %gs; check the address and port, that "
                              "IPMI over LAN is enabled, and firewalls" % (target.label, target.timeout),
                              bmc=target.name)
    return BmcTimedOut("BMC %s: no result within the hard deadline of %gs; the BMC stopped answering mid-operation"
                       % (target.label, budget), bmc=target.name)


# -- info ------------------------------------------------------------------

def _info_work(target: BmcTarget, report: Report) -> Dict[str, Any]:
    result = _base(target)
    result.update(reachable=False, authenticated=False, power=None, chassis=None)

    def body(conn: BmcConnection, res: Dict[str, Any]) -> None:
        res["reachable"] = True
        res["chassis"] = conn.chassis_status()
        res["power"] = res["chassis"]["power"]

    _run_on(target, report, body, result)
    if result.get("error", {}).get("kind") in ("authentication_failed", "command_refused"):
        result["reachable"] = True
    return result


def bmc_info(targets: Sequence[BmcTarget], parallel: int = DEFAULT_PARALLEL) -> List[Dict[str, Any]]:
    def on_deadline(target: BmcTarget, progress: Optional[Dict[str, Any]], budget: float) -> Dict[str, Any]:
        result = _base(target)
        result.update(reachable=False, authenticated=False, power=None, chassis=None, elapsed=budget)
        return _fail(result, _deadline_error(target, progress, budget))

    return _named(targets, run_jobs(targets, _info_work, lambda target: 2 * target.timeout + _LOGOUT_ALLOWANCE,
                                    on_deadline, parallel))


# -- power -------------------------------------------------------------------

def _power_work(job: Tuple[BmcTarget, PowerRequest], report: Report) -> Dict[str, Any]:
    target, request = job

    def body(conn: BmcConnection, res: Dict[str, Any]) -> None:
        res.update(set_power(conn, request, target.label))

    return _run_on(target, report, body, _base(target))


def _power_budget(job: Tuple[BmcTarget, PowerRequest]) -> float:
    target, request = job
    waits = request.wait_timeout if request.wait and request.state != "status" and not request.check_mode else 0.0
    return 2 * target.timeout + waits + _LOGOUT_ALLOWANCE


def bmc_power(targets: Sequence[BmcTarget], request: PowerRequest,
              parallel: int = DEFAULT_PARALLEL) -> List[Dict[str, Any]]:
    def on_deadline(job: Tuple[BmcTarget, PowerRequest], progress: Optional[Dict[str, Any]],
                    budget: float) -> Dict[str, Any]:
        result = _base(job[0])
        result["elapsed"] = budget
        return _fail(result, _deadline_error(job[0], progress, budget))

    return _named(targets, run_jobs([(target, request) for target in targets], _power_work, _power_budget,
                                    on_deadline, parallel))


# -- fence -------------------------------------------------------------------

def _fence_work(job: Tuple[BmcTarget, FenceRequest], report: Report) -> Dict[str, Any]:
    target, request = job
    clock = Clock()
    record = new_record(request, clock)
    record.update(target.public())
    report({"stage": "login", "record": record})
    started = time.monotonic()
    try:
        with BmcConnection(target, session_factory) as conn:
            report({"stage": "logged_in", "record": record})
            fence(conn, request, target.label, clock,
                  progress=lambda rec: report({"stage": "fencing", "record": rec}), record=record)
    except Exception as exc:  # an IpmiError or a surprise: failed either way
        error = exc if isinstance(exc, IpmiError) else _unexpected(target, exc)
        record["result"] = "failed"
        record["error"] = error.to_result()
        record["finished_at"] = clock.wall()
        record["elapsed"] = round(time.monotonic() - started, 3)
    return _fence_result(target, record)


def _fence_result(target: BmcTarget, record: Dict[str, Any]) -> Dict[str, Any]:
    result = _base(target)
    result.update(record)
    if record.get("result") != "success":
        result["failed"] = True
        result["msg"] = record.get("error", {}).get("msg", "BMC %s: fence did not complete" % target.label)
    return result


def _fence_budget(job: Tuple[BmcTarget, FenceRequest]) -> float:
    target, request = job
    return 2 * target.timeout + (0.0 if request.check_mode else request.budget()) + _LOGOUT_ALLOWANCE


def bmc_fence(targets: Sequence[BmcTarget], request: FenceRequest,
              parallel: int = DEFAULT_PARALLEL) -> List[Dict[str, Any]]:
    def on_deadline(job: Tuple[BmcTarget, FenceRequest], progress: Optional[Dict[str, Any]],
                    budget: float) -> Dict[str, Any]:
        target = job[0]
        record = dict((progress or {}).get("record") or new_record(request, Clock()))
        record.update(target.public())
        error = _deadline_error(target, progress, budget)
        record.update(result="failed", error=error.to_result(), finished_at=Clock().wall())
        return _fence_result(target, record)

    return _named(targets, run_jobs([(target, request) for target in targets], _fence_work, _fence_budget,
                                    on_deadline, parallel))
