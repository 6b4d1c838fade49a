# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine's own HA is doing about a host or a VM, read from its events (private, may change).

The reconciler never races the engine: it acts only where the engine's own flow has ended or given up.  The
engine's audit events tell where it stands (codes from ovirt-engine's AuditLogType):

- 9008 connecting (grace period), 12 non responsive, 13 up again;
- 494 manual fence ("confirm host has been rebooted"), 539 auto fence started, 9020 power management operation through a proxy, 121 restarted by the engine,
  122 restart failed, 9002 power fence failed, 9005 power state not verified;
- 9027 no power management, 9004 no proxy host, 9003 skipped during the engine's start-up;
- 9013 / 9014 / 9015 skipped by the cluster's fencing policy (connectivity, live storage lease, disabled);
- 119 VM down with error, 143 VM down because its host was fenced, 9602 HA VM failed, 9603 HA restart failed,
  33 / 73 VM powered off / shut down by a user, 61 VM down (shut down from inside the guest), 153 / 32 VM started.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from .model import Event, Host, Snapshot, Vm
from .policy import (ENGINE_FENCE_FLOW, ENGINE_HA_SHORT_RETRIES, ENGINE_PROXY_SEARCH, ENGINE_REBOOT_WINDOW, ENGINE_SOFT_FENCE,
                     ENGINE_STARTUP_WINDOW, ReconcilePolicy)
from .records import Memory

CONNECTING, NON_RESPONSIVE, UP_AGAIN = 9008, 12, 13
FENCE_STARTED = (539, 9020)
FENCE_RESTARTED = 121
FENCE_FAILED = (122, 9002, 9005)
NO_PM, NO_PROXY, STARTUP_SKIP = 9027, 9004, 9003
MANUAL_FENCE = 494
POLICY_CONNECTIVITY, POLICY_SD_ACTIVE, POLICY_DISABLED = 9013, 9014, 9015
VM_DOWN_ERROR, VM_FENCED_DOWN, HA_FAILED, HA_RESTART_FAILED = 119, 143, 9602, 9603
USER_STOP, USER_SHUTDOWN, GUEST_DOWN = 33, 73, 61
VM_STARTED = (32, 153)
# sanlock refused a lease because a live host holds it (newer libvirt's text, and its error code SANLK_ACQUIRE_IDLIVE);
# "No such file or directory" is the target host not reaching the storage, which proves nothing about the holder
LOCK_HELD = ("Lease is held by another host", "error -243")
# a down VM's explaining event is at most this much older than its stop time (the engine writes both at once)
CAUSE_TOLERANCE = 60.0


@dataclass(frozen=True)
class Outage:
    """A host's current spell of being unreachable, as the engine's events (and our records) tell it."""

    start: Optional[float]  # first failed check (9008), or our first sight of it; None: not known
    non_responsive_since: Optional[float]
    episode: int  # identifies the outage in our records (0 when the start is unknown)


@dataclass(frozen=True)
class EngineStance:
    """What the engine does about the host: ``acting`` (leave it alone), ``gave_up`` (ours to consider), or
    ``policy`` (the cluster's fencing policy said no).  ``code`` is the deciding event."""

    state: str
    reason: str
    code: Optional[int] = None
    until: Optional[float] = None  # acting: when we look again at the latest


def outage(snapshot: Snapshot, host: Host, memory: Memory) -> Outage:
    start: Optional[float] = None
    non_responsive: Optional[float] = None
    last_up = float("-inf")
    for event in snapshot.host_events(host.id):
        if event.code == UP_AGAIN:
            start, non_responsive, last_up = None, None, event.time
        elif event.code == CONNECTING and start is None:
            start = event.time
        elif event.code == NON_RESPONSIVE and non_responsive is None:
            non_responsive = event.time
            start = event.time if start is None else start
    if start is None:
        seen = [r for r in memory.of("outage", host.id) if r.episode >= last_up]
        if seen:
            start = float(min(r.episode for r in seen))
    return Outage(start, non_responsive, int(start) if start is not None else 0)


def stance(snapshot: Snapshot, host: Host, out: Outage, policy: ReconcilePolicy) -> EngineStance:
    now = snapshot.now
    grace = policy.grace
    if host.status == "connecting":
        return EngineStance("acting", "the engine's grace period (the host is connecting)")
    if out.start is None:
        return EngineStance("acting", "the start of this outage is not in the engine's events yet; looking again next run")
    events = snapshot.host_events(host.id, since=out.start)
    codes = [e.code for e in events]
    last = {e.code: e for e in events}
    started = _latest(events, FENCE_STARTED)
    if MANUAL_FENCE in codes:
        return EngineStance("handled", "someone confirmed it down to the engine (manual fence, event 494) %s; its VMs were "
                            "released" % _ago(now, last[MANUAL_FENCE].time), MANUAL_FENCE)
    if POLICY_SD_ACTIVE in codes:
        return EngineStance("policy", "the engine skipped fencing: the host's storage lease was live (fencing policy "
                            "skip-if-SD-active, event 9014)", POLICY_SD_ACTIVE)
    if POLICY_DISABLED in codes:
        return EngineStance("policy", "the cluster's fencing policy disables fencing (event 9015)", POLICY_DISABLED)
    if POLICY_CONNECTIVITY in codes:
        return EngineStance("policy", "the engine skipped fencing: too many hosts have connectivity problems (event 9013)",
                            POLICY_CONNECTIVITY)
    if started is not None:
        after = [e for e in events if e.index > started.index]
        failed = _latest(after, FENCE_FAILED)
        if failed is not None:
            return EngineStance("gave_up", "the engine's power fence failed at %s (event %d) and the engine does not retry"
                                % (_ago(now, failed.time), failed.code), failed.code)
        restarted = _latest(after, (FENCE_RESTARTED,))
        if restarted is not None:
            until = restarted.time + ENGINE_REBOOT_WINDOW + grace
            if now < until:
                return EngineStance("acting", "the engine restarted the host %s and waits for it to boot" % _ago(now, restarted.time),
                                    FENCE_RESTARTED, until)
            return EngineStance("gave_up", "the engine restarted the host %s and it never came back" % _ago(now, restarted.time),
                                FENCE_RESTARTED)
        until = started.time + ENGINE_FENCE_FLOW + grace
        if now < until:
            return EngineStance("acting", "the engine is fencing the host (started %s)" % _ago(now, started.time), started.code, until)
        return EngineStance("gave_up", "the engine's fence started %s and never finished" % _ago(now, started.time), started.code)
    if NO_PM in codes:
        return EngineStance("gave_up", "the engine cannot fence it: no power management configured (event 9027)", NO_PM)
    if NO_PROXY in codes:
        until = last[NO_PROXY].time + ENGINE_PROXY_SEARCH + grace
        if now < until:
            return EngineStance("acting", "the engine is looking for a fence proxy host", NO_PROXY, until)
        return EngineStance("gave_up", "the engine found no proxy host to fence it through (event 9004)", NO_PROXY)
    if STARTUP_SKIP in codes:
        until = last[STARTUP_SKIP].time + ENGINE_STARTUP_WINDOW + grace
        if now < until:
            return EngineStance("acting", "the engine does not fence in its first 300 s; waiting for that window to end",
                                STARTUP_SKIP, until)
        return EngineStance("gave_up", "the engine skipped fencing during its start-up and does not come back to it (event 9003)",
                            STARTUP_SKIP)
    since = out.non_responsive_since if out.non_responsive_since is not None else out.start
    until = since + max(ENGINE_SOFT_FENCE + grace, policy.engine_fence_timeout)
    if now < until:
        return EngineStance("acting", "the engine may still soft-fence or fence the host (non responsive %s)" % _ago(now, since),
                            None, until)
    return EngineStance("gave_up", "the engine did nothing about it for %d s" % (now - since))


@dataclass(frozen=True)
class StorageEvidence:
    """Whether the host may still write to its storage: ``live`` (it renews a lease), ``lost`` (a lease it held was
    taken over), or ``unknown``."""

    verdict: str
    reason: str


def storage_evidence(snapshot: Snapshot, host: Host, out: Outage, memory: Memory, witnesses: List[str],
                     policy: ReconcilePolicy) -> StorageEvidence:
    since = out.start if out.start is not None else snapshot.now
    if POLICY_SD_ACTIVE in (e.code for e in snapshot.host_events(host.id, since=since)):
        return StorageEvidence("live", "the engine's fence proxy saw its storage lease live (event 9014)")
    recent = snapshot.now - 2 * policy.lease_wait
    for vm in snapshot.vms_on(host.id):
        for event in snapshot.vm_events(vm.id, since=max(since, recent)):
            if event.code == VM_DOWN_ERROR and any(text in event.description for text in LOCK_HELD):
                return StorageEvidence("live", "sanlock refused %s's lease elsewhere %s: the host still renews it"
                                       % (vm.name, _ago(snapshot.now, event.time)))
    for vm_id in witnesses:
        witness = snapshot.vms_by_id.get(vm_id)
        if witness is not None and witness.host_id not in (None, host.id) and witness.status in ("up", "powering_up", "migrating"):
            where = snapshot.hosts_by_id[witness.host_id].name if witness.host_id in snapshot.hosts_by_id else witness.host_id
            return StorageEvidence("lost", "%s, whose lease the host held, runs on %s now: the host's lease expired"
                                   % (witness.name, where))
    if not witnesses:
        return StorageEvidence("unknown", "no HA VM with a storage lease ran on it to show whether it still writes to storage")
    return StorageEvidence("unknown", "its leased VMs have not been taken over yet")


def down_cause(snapshot: Snapshot, vm: Vm) -> Optional[Event]:
    """The event that explains why a VM is down now: a user's stop or an error.  None when the window has neither,
    or when the VM was started again after it (a later stop left no event: it may have been a user's)."""
    since = vm.stop_time - CAUSE_TOLERANCE if vm.stop_time is not None else float("-inf")
    for event in reversed(snapshot.vm_events(vm.id)):
        if event.code in VM_STARTED:
            return None
        if event.time < since:
            return None
        if event.code in (USER_STOP, USER_SHUTDOWN, GUEST_DOWN, VM_DOWN_ERROR, VM_FENCED_DOWN, HA_FAILED, HA_RESTART_FAILED):
            return event
    return None


def engine_retrying(snapshot: Snapshot, vm: Vm, policy: ReconcilePolicy) -> Optional[str]:
    """Why the engine is still restarting the VM by itself (its ten short retries), or None.  The engine queues an
    HA VM when it fails (9602) and when its host is fenced or confirmed down (143)."""
    queued = [e for e in snapshot.vm_events(vm.id) if e.code in (HA_FAILED, VM_FENCED_DOWN)]
    if not queued:
        return None
    since = queued[-1].time
    tries = [e for e in snapshot.vm_events(vm.id, since=since) if e.code == HA_RESTART_FAILED]
    if len(tries) < ENGINE_HA_SHORT_RETRIES and snapshot.now - since < policy.engine_retry_wait:
        return "the engine is restarting it (%d of its %d tries 30 s apart so far)" % (len(tries), ENGINE_HA_SHORT_RETRIES)
    return None


def _latest(events: List[Event], codes: tuple) -> Optional[Event]:
    found = [e for e in events if e.code in codes]
    return found[-1] if found else None


def _ago(now: float, when: float) -> str:
    return "%d s ago" % max(0, now - when)
