"""The admin endpoint (/lab): faults, clock steps, request statistics, engine HA switches, model snapshot."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from tests.lab.faults import KINDS, FaultError

if TYPE_CHECKING:
    from tests.lab.server import LabServer

MAX_STEP = 7 * 24 * 3600


class Admin:
    def __init__(self, lab: "LabServer") -> None:
        self.lab = lab

    def handle(self, method: str, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        lab = self.lab
        route = path[len("/lab"):] if path.startswith("/lab") else None
        if route is None:
            return 404, {"error": "not found"}
        if route in ("", "/state") and method == "GET":
            return 200, self.state()
        if route == "/faults" and method == "POST":
            try:
                with lab.model.lock:
                    result = lab.faults.inject(str(payload["kind"]), payload.get("target"), payload.get("value"))
            except FaultError as exc:
                return 400, {"error": str(exc)}
            lab.after_action()
            lab.sync_listeners()
            return 200, result
        if route in ("/faults", "/faults/clear") and method in ("DELETE", "POST"):
            only = payload.get("kind") if route == "/faults/clear" else None
            if only is not None and only not in KINDS:
                return 400, {"error": f"unknown fault kind {only!r}"}
            with lab.model.lock:
                lab.faults.clear(only)
            lab.after_action()
            lab.sync_listeners()
            return 200, {"faults": []}
        if route == "/faults" and method == "GET":
            with lab.model.lock:
                return 200, {"faults": lab.faults.describe()}
        if route == "/clock/step" and method == "POST":
            seconds = float(payload.get("seconds", 0))
            if not 0 <= seconds <= MAX_STEP:
                return 400, {"error": f"seconds must be between 0 and {MAX_STEP}"}
            return 200, {"now": lab.step(seconds)}
        if route == "/clock" and method == "GET":
            return 200, {"now": lab.clock.now(), "mode": lab.clock.mode, "scale": lab.clock.scale}
        if route == "/stats" and method == "GET":
            return 200, lab.stats.snapshot()
        if route == "/stats/reset" and method == "POST":
            lab.stats.reset()
            return 200, lab.stats.snapshot()
        if route == "/engine-ha" and method == "POST":
            with lab.model.lock:
                lab.engine.features.update(payload)
            return 200, lab.engine.features.as_dict()
        if route == "/engine-ha" and method == "GET":
            return 200, lab.engine.features.as_dict()
        if route == "/violations" and method == "GET":
            with lab.model.lock:
                return 200, {"violations": [v.as_dict() for v in lab.truth.violations]}
        if route == "/journal" and method == "GET":
            entries = lab.journal.since(int(payload.get("since", 0)))
            return 200, {"entries": [e.as_dict() for e in entries], "next": entries[-1].index if entries else int(payload.get("since", 0))}
        if route == "/journal" and method == "POST":
            # a test or scenario step writes its own line between the lab's (source "step" unless given)
            lab.journal.add(lab.clock.now(), str(payload.get("source", "step")), str(payload["text"]))
            return 200, {"ok": True}
        if route == "/bmcs" and method == "GET":
            # each BMC's current credentials (after a bmc_wrong_password fault: the new password, which the engine lacks)
            with lab.model.lock:
                return 200, {"bmcs": [dict(h["bmc"], name=h["name"], password=lab.faults.current_passwords.get(h["name"], h["bmc"]["password"]))
                                      for h in lab.info["hosts"] if h["bmc"]]}
        if route == "/truth" and method == "GET":
            return 200, self.truth()
        return 404, {"error": f"no admin route {method} {path}"}

    def truth(self) -> dict[str, Any]:
        """Where each VM's qemu really runs and who holds each storage lease (beside the engine's view)."""
        lab = self.lab
        model = lab.model
        with model.lock:
            now = lab.clock.now()
            truth = lab.truth
            return {
                "now": now,
                "running": {model.vms[v].name: truth.names(hosts) for v, hosts in sorted(truth.running.items()) if v in model.vms},
                "leases": [{"resource": lease.resource, "vm": model.vms[lease.resource.split(":", 1)[1]].name,
                            "holder": (truth.names({lease.holder}) or [lease.holder])[0], "renewed": lease.renewed, "alive": truth.lease_alive(lease, now)}
                           for lease in truth.leases.values()],
                "hosts": {h.name: {"power_on": h.power_on, "network_ok": h.network_ok, "mgmt_bridge_ok": h.mgmt_bridge_ok,
                                   "storage_lease_alive": h.storage_lease_alive(now), "reachable_by_engine": h.responsive(now)}
                          for h in model.hosts.values()},
                "violations": len(truth.violations),
            }

    def state(self) -> dict[str, Any]:
        lab = self.lab
        model = lab.model
        with model.lock:
            now = lab.clock.now()
            hosts = []
            for host in model.hosts.values():
                entry: dict[str, Any] = {
                    "name": host.name, "id": host.id, "status": host.status, "spm": host.spm, "power_on": host.power_on,
                    "network_ok": host.network_ok, "mgmt_bridge_ok": host.mgmt_bridge_ok, "responsive": host.responsive(now),
                    "vdsm_hung": host.vdsm_hung, "vdsm_restarts": host.vdsm_restarts,
                    "fence_state": host.fence_state, "power_log": [[round(t, 3), a] for t, a in host.power_log],
                    "status_log": list(host.status_log),
                    "vms": sum(1 for vm in model.vms_on(host.id) if vm.status != "down"),
                }
                if host.he_configured:
                    entry["hosted_engine"] = {"host_id": host.he_host_id, "score": host.he_score, "state": host.he_state,
                                              "local_maintenance": host.he_local_maintenance, "agent_stopped": host.he_agent_stopped,
                                              "metadata_stale": host.he_metadata_stale}
                    if lab.agents is not None:
                        entry["hosted_engine"].update(lab.agents.describe(host))
                hosts.append(entry)
            small = len(model.vms) <= 2000
            he_vm = model.he_vm()
            return {
                "clock": {"now": now, "mode": lab.clock.mode, "scale": lab.clock.scale},
                "engine": {"up": model.engine_up, "api_available": lab.api_available(), "started_at": model.engine_started_at,
                           "global_maintenance": model.global_maintenance},
                "hosts": hosts,
                "vm_counts": dict(Counter(vm.status for vm in model.vms.values())),
                "vms": [{"name": vm.name, "id": vm.id, "status": vm.status, "host": model.hosts[vm.host_id].name if vm.host_id else None,
                         "running_on": lab.truth.names(lab.truth.hosts_of(vm)),
                         "ha": vm.ha_enabled, "priority": vm.ha_priority, "restart_attempts": vm.restart_attempts}
                        for vm in model.vms.values()] if small else None,
                "hosted_engine_vm": {"status": he_vm.status, "host": model.hosts[he_vm.host_id].name if he_vm.host_id else None}
                if he_vm else None,
                "storage_domains": [{"name": sd.name, "id": sd.id, "status": sd.status} for sd in model.storage_domains.values()],
                "faults": lab.faults.describe(),
                "violations": len(lab.truth.violations),
                "engine_ha": lab.engine.features.as_dict(),
                "events": len(model.events),
                "cache_warm": lab.cache_warm,
            }
