# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding engine objects by name with few requests (private, may change)."""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional
from urllib.parse import quote

from .errors import EngineBadRequest, EngineError, EngineNotFound, engine_call


def enum_value(value: Any) -> Optional[str]:
    """``'up'`` for ``HostStatus.UP``; None stays None."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def inlined_agents(host: Any) -> Optional[List[Any]]:
    """The host's fence agents when the engine inlined them (``follow=agents``).

    None when it did not: the SDK then holds an empty list carrying the link's href.
    """
    agents = host.agents
    if agents is None or (len(agents) == 0 and getattr(agents, "href", None)):
        return None
    return list(agents)


def search_quote(name: str) -> str:
    """Quote a name for the engine search syntax when it needs quoting."""
    if re.match(r"^[A-Za-z0-9_.@-]+$", name):
        return name
    return '"%s"' % name.replace("\\", "\\\\").replace('"', '\\"')


# A longer search (URL-encoded, in the request line) than an engine's web server takes (Apache: 8190 bytes for the
# whole line) is refused before the engine sees it.
MAX_SEARCH_BYTES = 6000


def or_searches(terms: List[str], max_bytes: int = MAX_SEARCH_BYTES) -> List[str]:
    """``terms`` joined with ``or`` into as few searches as keep each one's URL-encoded length within ``max_bytes``.

    A term longer than that alone still gets a search of its own (the engine then says what it thinks of it).
    """
    searches: List[str] = []
    current: List[str] = []
    for term in terms:
        if current and len(quote(" or ".join(current + [term]))) > max_bytes:
            searches.append(" or ".join(current))
            current = []
        current.append(term)
    if current:
        searches.append(" or ".join(current))
    return searches


def by_name(objects: Iterable[Any]) -> Dict[str, Any]:
    return {obj.name: obj for obj in objects}


def by_id(objects: Iterable[Any]) -> Dict[str, Any]:
    return {obj.id: obj for obj in objects}


def get_cluster(system: Any, name: str, follow: Optional[str] = None) -> Any:
    """The cluster called ``name`` (one request)."""
    with engine_call("listing clusters", obj="cluster %r" % name):
        found = [c for c in system.clusters_service().list(search="name=%s" % search_quote(name), follow=follow)
                 if c.name == name]
    if not found:
        raise EngineNotFound("no cluster named %r" % name, obj="cluster %r" % name,
                             expected="an existing cluster name")
    return found[0]


def list_hosts(system: Any, cluster: Optional[str] = None, *, all_content: bool = False,
               follow: Optional[str] = None) -> List[Any]:
    """Hosts, of one cluster or all (one request)."""
    search = "cluster=%s" % search_quote(cluster) if cluster else None
    what = "cluster %r" % cluster if cluster else "hosts"
    try:
        with engine_call("listing hosts", obj=what):
            return list(system.hosts_service().list(search=search, all_content=all_content or None, follow=follow))
    except EngineError as exc:
        # Engines differ in how they refuse a link they cannot follow (400, 404, or 500 from the link follower);
        # auth failures, timeouts and an unreachable engine are not that, and stay failures.
        if not follow or not (isinstance(exc, (EngineBadRequest, EngineNotFound)) or exc.code in (400, 404, 500)):
            raise
    # An engine that cannot follow the link: the caller reads the linked objects itself.
    with engine_call("listing hosts", obj=what):
        return list(system.hosts_service().list(search=search, all_content=all_content or None))


def list_vms(system: Any, cluster: Optional[str] = None, *, all_content: bool = False) -> List[Any]:
    """VMs, of one cluster or all (one request)."""
    search = "cluster=%s" % search_quote(cluster) if cluster else None
    with engine_call("listing VMs", obj="cluster %r" % cluster if cluster else "VMs"):
        return list(system.vms_service().list(search=search, all_content=all_content or None))


def list_storage_domains(system: Any) -> List[Any]:
    with engine_call("listing storage domains"):
        return list(system.storage_domains_service().list())


def require_named(found: Dict[str, Any], names: List[str], kind: str, field: str, where: str = "") -> None:
    """Fail, naming the first option entry, when any name is missing."""
    for index, name in enumerate(names):
        if name not in found:
            raise EngineNotFound("no %s named %r%s" % (kind, name, where),
                                 obj="%s[%d].name" % (field, index),
                                 expected="the name of an existing %s" % kind)
