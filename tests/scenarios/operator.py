"""What an administrator does in a scenario, through the real SDK: ``operator: manual_fence host02``.

Commands: ``manual_fence HOST``, ``fence restart|start|stop|status HOST``, ``start VM [on HOST]``, ``stop VM``,
``shutdown VM``, ``migrate VM [to HOST]``, ``maintenance HOST``, ``activate HOST``, ``global_maintenance on|off``,
``power_management HOST on|off``, ``fencing_policy KEY=VALUE ...`` (enabled, skip_if_sd_active,
skip_if_connectivity_broken, threshold); and on a hosted-engine host, without the engine:
``hosted_engine_maintenance global|none`` (what ``hosted-engine --set-maintenance`` writes: block 0 of the metadata
volume).  The engine's refusals are part of the story: they are returned as text
for the journal, not raised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import ovirtsdk4
import ovirtsdk4.types as t

from tests.lab.testing import LabHandle


class OperatorError(ValueError):
    """A command the harness does not know, or one with the wrong arguments."""


def _find(collection: Any, kind: str, name: str) -> Any:
    """The service of the host or VM called ``name`` (``collection``: hosts_service() or vms_service())."""
    found = collection.list(search=f"name={name}")
    if not found:
        raise OperatorError(f"no {kind} {name!r}")
    return getattr(collection, f"{kind}_service")(found[0].id)


def _host(conn: Any, name: str) -> Any:
    return _find(conn.system_service().hosts_service(), "host", name)


def _vm(conn: Any, name: str) -> Any:
    return _find(conn.system_service().vms_service(), "vm", name)


def _flag(text: str) -> bool:
    if text not in ("on", "off", "true", "false"):
        raise OperatorError(f"expected on/off, got {text!r}")
    return text in ("on", "true")


def _fencing_policy(conn: Any, pairs: list[str]) -> None:
    values = dict(pair.split("=", 1) for pair in pairs)
    unknown = set(values) - {"enabled", "skip_if_sd_active", "skip_if_connectivity_broken", "threshold"}
    if unknown:
        raise OperatorError(f"fencing_policy: unknown key(s) {sorted(unknown)}")
    policy = t.FencingPolicy()
    if "enabled" in values:
        policy.enabled = _flag(values["enabled"])
    if "skip_if_sd_active" in values:
        policy.skip_if_sd_active = t.SkipIfSdActive(enabled=_flag(values["skip_if_sd_active"]))
    if "skip_if_connectivity_broken" in values or "threshold" in values:
        policy.skip_if_connectivity_broken = t.SkipIfConnectivityBroken(
            enabled=_flag(values["skip_if_connectivity_broken"]) if "skip_if_connectivity_broken" in values else None,
            threshold=int(values["threshold"]) if "threshold" in values else None)
    clusters = conn.system_service().clusters_service()
    clusters.cluster_service(clusters.list()[0].id).update(t.Cluster(fencing_policy=policy))


def _global_maintenance(conn: Any, flag: str) -> None:
    he_vm = conn.system_service().vms_service().list(search="name=HostedEngine")
    if not he_vm:
        raise OperatorError("global_maintenance needs a lab with a hosted engine")
    conn.system_service().vms_service().vm_service(he_vm[0].id).maintenance(maintenance_enabled=_flag(flag))


def _command(words: list[str]) -> Callable[[Any], Optional[str]]:
    verb, args = words[0], words[1:]
    if verb == "manual_fence" and len(args) == 1:
        return lambda conn: _host(conn, args[0]).fence(fence_type="manual") and None
    if verb == "fence" and len(args) == 2 and args[0] in ("restart", "start", "stop", "status"):
        def fence(conn: Any) -> Optional[str]:
            answer = _host(conn, args[1]).fence(fence_type=args[0])
            status = getattr(getattr(answer, "status", None), "value", None)
            return f"power status {status}" if args[0] == "status" else None
        return fence
    if verb == "start" and len(args) in (1, 3) and (len(args) == 1 or args[1] == "on"):
        return lambda conn: _vm(conn, args[0]).start(**({"host": t.Host(name=args[2])} if len(args) == 3 else {})) and None
    if verb in ("stop", "shutdown") and len(args) == 1:
        return lambda conn: getattr(_vm(conn, args[0]), verb)() and None
    if verb == "migrate" and len(args) in (1, 3) and (len(args) == 1 or args[1] == "to"):
        return lambda conn: _vm(conn, args[0]).migrate(**({"host": t.Host(name=args[2])} if len(args) == 3 else {})) and None
    if verb in ("maintenance", "activate") and len(args) == 1:
        return lambda conn: getattr(_host(conn, args[0]), "deactivate" if verb == "maintenance" else "activate")() and None
    if verb == "global_maintenance" and len(args) == 1:
        return lambda conn: _global_maintenance(conn, args[0])
    if verb == "power_management" and len(args) == 2:
        return lambda conn: _host(conn, args[0]).update(t.Host(power_management=t.PowerManagement(enabled=_flag(args[1])))) and None
    if verb == "fencing_policy" and args:
        return lambda conn: _fencing_policy(conn, args)
    raise OperatorError(f"unknown operator command {' '.join(words)!r}")


def _metadata_maintenance(lab: LabHandle, mode: str) -> str:
    from tests.lab.he_metadata import MetadataVolume, encode_global  # pylint: disable=import-outside-toplevel

    if mode not in ("global", "none"):
        raise OperatorError(f"hosted_engine_maintenance: expected global or none, got {mode!r}")
    he = lab.info.get("hosted_engine")
    if not he:
        raise OperatorError("hosted_engine_maintenance needs a lab with a hosted engine")
    MetadataVolume(he["metadata_volume"]).write(0, encode_global(mode == "global"))
    return f"global maintenance {'on' if mode == 'global' else 'off'} in the metadata volume"


def _forge_lease(lab: LabHandle, holder: str, ttl: str) -> str:
    """A run lease record as a reconciler that died holding it would have left (``forge_lease HOLDER TTL``)."""
    import sys  # pylint: disable=import-outside-toplevel

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".build"))
    from ansible_collections.ovirt_ha.core.plugins.module_utils._ha import records  # pylint: disable=import-outside-toplevel

    connection = lab.connection()
    try:
        system = connection.system_service()
        cluster = system.clusters_service().list()[0]
        now = system.get().time.timestamp()
        ident = records.custom_id(cluster.id, "lease", cluster.id, 1)
        description = "ovirt_ha.core run lease of cluster %s taken by %s (generation 1, expires in %s s) %s" % (
            cluster.name, holder, ttl, records.tag("lease", cluster.id, 1, holder="ghost", expires="%d" % (now + float(ttl)), run=holder))
        system.events_service().add(t.Event(origin=records.ORIGIN, custom_id=ident, severity=t.LogSeverity.NORMAL, description=description,
                                            flood_rate=1, cluster=t.Cluster(id=cluster.id)))
    finally:
        connection.close()
    return f"a run lease held by {holder} for {ttl} s, as a reconciler that died would leave it"


def act(lab: LabHandle, command: str) -> Optional[str]:
    """Run one operator command; returns text for the journal (the engine's refusal, a status), or None."""
    words = command.split()
    if words[:1] == ["hosted_engine_maintenance"] and len(words) == 2:
        return _metadata_maintenance(lab, words[1])
    if words[:1] == ["forge_lease"] and len(words) == 3:
        return _forge_lease(lab, words[1], words[2])
    action = _command(words)
    connection = lab.connection()
    try:
        return action(connection)
    except ovirtsdk4.Error as exc:
        fault = getattr(exc, "fault", None)
        detail = getattr(fault, "detail", None) or str(exc)
        return f"refused: HTTP {getattr(exc, 'code', '?')} {' '.join(str(detail).split())}"
    finally:
        connection.close()
