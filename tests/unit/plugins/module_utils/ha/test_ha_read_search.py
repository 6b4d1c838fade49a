"""The VM search of the reconciler's read: what is not up, what is on an unreachable host, and the outage witnesses."""
from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

from ansible_collections.ovirt_ha.core.plugins.module_utils._ha import read
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.model import Event
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.records import ORIGIN, tag


def _host(name: str, host_id: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, id=host_id)


def _outage(host_id: str, witnesses: str, index: int = 1) -> Event:
    return Event(index=index, code=9801, time=0.0, origin=ORIGIN, description="x " + tag("outage", host_id, 100, witnesses=witnesses))


def test_a_healthy_cluster_reads_only_the_vms_that_are_not_up() -> None:
    assert read.vm_search("Default", [], []) == "cluster=Default and status!=up"


def test_unreachable_hosts_and_their_witnesses_are_read() -> None:
    search = read.vm_search("Prod 1", [_host("h2", "id2"), _host("h1", "id1")], [_outage("id2", "vmA,vmB"), _outage("other", "vmZ", 2)])
    assert search == 'cluster="Prod 1" and status!=up or host=h1 or host=h2 or id=vmA or id=vmB'


def test_a_search_too_long_for_an_engine_reads_the_whole_cluster() -> None:
    hosts = [_host("host%03d" % i, "id%d" % i) for i in range(400)]
    assert read.vm_search("Default", hosts, []) is None
    fitting = read.vm_search("Default", hosts[:150], [])
    assert fitting is not None and len(quote(fitting)) <= read.MAX_SEARCH_BYTES
