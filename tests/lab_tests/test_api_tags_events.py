"""Engine API corners oVirt's own clients use: tags, external events, ``or`` search, hosts add and remove, templates,
and the BMCs' sensors (``ipmitool sdr``), each as the real engine or BMC answers."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from typing import Any

import ovirtsdk4
import ovirtsdk4.types as t
import pytest

from tests.lab.bmc import BmcFleet, SimplePowerTarget
from tests.lab.server import free_udp_ports
from tests.lab.testing import LabHandle

pytestmark = pytest.mark.lab
BLANK = "00000000-0000-0000-0000-000000000000"


def _fault(error: pytest.ExceptionInfo[ovirtsdk4.Error]) -> tuple[int, str]:
    fault = getattr(error.value, "fault", None)
    return error.value.code, (fault.detail if fault is not None else None) or ""


def _event(custom_id: int, **fields: Any) -> t.Event:
    values: dict[str, Any] = {"description": f"lab test event {custom_id}", "severity": t.LogSeverity.NORMAL, "origin": "lab_tests",
                              "custom_id": custom_id, "flood_rate": -1}
    values.update(fields)
    return t.Event(**values)


# -- tags ------------------------------------------------------------------------------------------------------------
def test_tags_tree_names_and_updates(lab_connection: ovirtsdk4.Connection) -> None:
    tags = lab_connection.system_service().tags_service()
    root = next(tag for tag in tags.list() if tag.name == "root")
    assert root.id == BLANK and root.parent is None
    parent = tags.add(t.Tag(name="lab-rack_1", description="rack one"))
    assert parent.parent.id == BLANK
    child = tags.add(t.Tag(name="lab-rack_1-a", parent=t.Tag(name="lab-rack_1")))
    assert child.parent.id == parent.id
    with pytest.raises(ovirtsdk4.Error) as duplicate:
        tags.add(t.Tag(name="lab-rack_1"))
    assert _fault(duplicate) == (409, "[The specified Tag name already exists.]")
    for bad in ("has space", "x" * 51, "dot.ted"):
        with pytest.raises(ovirtsdk4.Error) as invalid:
            tags.add(t.Tag(name=bad))
        assert invalid.value.code == 400, bad
    assert len(tags.add(t.Tag(name="y" * 50)).name) == 50
    # last writer wins: no version check
    tags.tag_service(parent.id).update(t.Tag(description="first"))
    assert tags.tag_service(parent.id).update(t.Tag(description="second")).description == "second"
    tags.tag_service(parent.id).remove()
    names = {tag.name for tag in tags.list()}
    assert "lab-rack_1" not in names and "lab-rack_1-a" not in names and "root" in names
    with pytest.raises(ovirtsdk4.NotFoundError):
        tags.tag_service(child.id).get()


def test_tags_assigned_to_vms_and_hosts_and_searched(lab_connection: ovirtsdk4.Connection) -> None:
    system = lab_connection.system_service()
    tags, vms, hosts = system.tags_service(), system.vms_service(), system.hosts_service()
    tag = tags.add(t.Tag(name="lab-gold"))
    vm = vms.list(search="name=vm0005")[0]
    host = hosts.list(search="name=host02")[0]
    assigned = vms.vm_service(vm.id).tags_service()
    added = assigned.add(t.Tag(name="lab-gold"))
    assert added.id == tag.id and added.vm.id == vm.id
    # already assigned: 201 again, still one assignment
    assigned.add(t.Tag(id=tag.id))
    assert [x.name for x in assigned.list()] == ["lab-gold"]
    with pytest.raises(ovirtsdk4.NotFoundError) as unknown:
        assigned.add(t.Tag(name="lab-no-such-tag"))
    assert _fault(unknown) == (404, "Entity not found: lab-no-such-tag")
    hosts.host_service(host.id).tags_service().add(t.Tag(name="lab-gold"))
    assert [v.name for v in vms.list(search="tag=lab-gold")] == ["vm0005"]
    assert [h.name for h in hosts.list(search="tag=lab-gold")] == ["host02"]
    assert [v.name for v in vms.list(search="tag=lab-gold or name=vm0006")] == ["vm0005", "vm0006"]
    assigned.tag_service(tag.id).remove()
    assert assigned.list() == [] and vms.list(search="tag=lab-gold") == []
    with pytest.raises(ovirtsdk4.NotFoundError):
        assigned.tag_service(tag.id).remove()
    tags.tag_service(tag.id).remove()
    assert hosts.host_service(host.id).tags_service().list() == []


# -- events ----------------------------------------------------------------------------------------------------------
def test_events_newest_first_from_max_and_search(lab_connection: ovirtsdk4.Connection) -> None:
    events = lab_connection.system_service().events_service()
    before = events.list(max=1)[0].index
    vm = lab_connection.system_service().vms_service().list(search="name=vm0007")[0]
    posted = [events.add(_event(8100, severity=t.LogSeverity.NORMAL, description="disk check passed")),
              events.add(_event(8101, severity=t.LogSeverity.WARNING, description="disk check slow", vm=t.Vm(id=vm.id))),
              events.add(_event(8102, severity=t.LogSeverity.ERROR, description="disk check failed"))]
    indexes = [e.index for e in posted]
    assert indexes == sorted(indexes) and indexes[0] > before
    assert [e.index for e in events.list(from_=before)] == indexes[::-1]
    # max is a limit after the newest-first ordering: the newest two above `from`
    assert [e.index for e in events.list(from_=before, max=2)] == indexes[:0:-1]
    assert [e.index for e in events.list(from_=indexes[0], max=5)] == indexes[:0:-1]
    origin = "origin=lab_tests and "
    assert [e.custom_id for e in events.list(search=origin + "severity>normal", from_=before)] == [8102, 8101]
    assert [e.custom_id for e in events.list(search=origin + "severity<error", from_=before)] == [8101, 8100]
    assert [e.custom_id for e in events.list(search=origin + "message=*slow*")] == [8101]
    assert [e.custom_id for e in events.list(search="event_vm=vm0007 and origin=lab_tests")] == [8101]
    assert [e.custom_id for e in events.list(search="custom_event_id=8100 or custom_event_id=8102")] == [8102, 8100]
    assert {e.code for e in posted} == {9801, 9802, 9803}
    assert len(events.list(search=f"type=9802 and custom_event_id=8101 and time>{posted[0].time.isoformat()[:10]}")) == 1


def test_events_validation_origin_and_unique_custom_id(lab_connection: ovirtsdk4.Connection) -> None:
    events = lab_connection.system_service().events_service()
    with pytest.raises(ovirtsdk4.Error) as incomplete:
        events.add(t.Event(description="no custom id", severity=t.LogSeverity.NORMAL, origin="lab_tests"))
    assert incomplete.value.code == 400 and "customId" in str(incomplete.value)
    for origin in ("oVirt", "OVIRT"):
        with pytest.raises(ovirtsdk4.Error) as illegal:
            events.add(_event(8200, origin=origin))
        assert _fault(illegal) == (400, "[Cannot add External Event. Illegal origin.]")
    first = events.add(_event(8201))
    with pytest.raises(ovirtsdk4.Error) as duplicate:
        events.add(_event(8201, description="another text"))
    assert _fault(duplicate) == (400, "[=Cannot add External Event. External Event with this custom id already exists.]")
    # unique per origin only
    assert events.add(_event(8201, origin="lab_tests_other")).id != first.id
    # a soft delete: gone from the list, the custom id stays taken
    events.event_service(first.id).remove()
    assert events.list(search="origin=lab_tests and custom_event_id=8201") == []
    with pytest.raises(ovirtsdk4.NotFoundError):
        events.event_service(first.id).get()
    with pytest.raises(ovirtsdk4.Error) as again:
        events.add(_event(8201))
    assert again.value.code == 400
    with pytest.raises(ovirtsdk4.Error) as too_big:
        events.add(_event(2 ** 31))
    assert too_big.value.code == 400


def test_events_flood_regulation_drops_like_events(lab: LabHandle, lab_connection: ovirtsdk4.Connection) -> None:
    events = lab_connection.system_service().events_service()
    # the flood key is the severity and the linked objects (a user of its own keeps other tests' events out of it)
    user = t.User(id=str(uuid.uuid4()))
    stored = events.add(_event(8300, flood_rate=None, user=user, severity=t.LogSeverity.ALERT))
    with pytest.raises(ovirtsdk4.Error) as dropped:
        events.add(_event(8301, flood_rate=None, user=user, severity=t.LogSeverity.ALERT))
    assert _fault(dropped) == (400, "")
    assert events.list(search="origin=lab_tests and custom_event_id=8301") == []
    # another severity is another key; an event with a flood rate of its own (any non-zero) is never dropped
    events.add(_event(8302, flood_rate=None, user=user, severity=t.LogSeverity.WARNING))
    events.add(_event(8303, flood_rate=-1, user=user, severity=t.LogSeverity.ALERT))
    events.add(_event(8304, flood_rate=5, user=user, severity=t.LogSeverity.ALERT))
    events.add(_event(8305, flood_rate=5, user=user, severity=t.LogSeverity.ALERT))
    lab.step(31)
    later = events.add(_event(8301, flood_rate=None, user=user, severity=t.LogSeverity.ALERT))
    assert later.index > stored.index
    assert len(events.list(search="origin=lab_tests and custom_event_id=8301")) == 1


# -- search ----------------------------------------------------------------------------------------------------------
def test_search_or_binds_looser_than_and(lab_connection: ovirtsdk4.Connection) -> None:
    hosts = lab_connection.system_service().hosts_service()
    assert sorted(h.name for h in hosts.list(search="name=host01 or name=host03")) == ["host01", "host03"]
    # and first: host01, or (host02 and down)
    assert [h.name for h in hosts.list(search="name=host01 or name=host02 and status=down")] == ["host01"]
    everyone = ["host01", "host02", "host03", "host04"]
    assert sorted(h.name for h in hosts.list(search="name=host0* and status=up or name=nothing")) == everyone
    vms = lab_connection.system_service().vms_service()
    assert sorted(v.name for v in vms.list(search='name="vm0001" OR name=vm0002')) == ["vm0001", "vm0002"]
    with pytest.raises(ovirtsdk4.Error) as broken:
        vms.list(search="name=vm0001 or")
    assert broken.value.code == 400


# -- hosts add and remove --------------------------------------------------------------------------------------------
def test_hosts_add_and_remove(lab_connection: ovirtsdk4.Connection) -> None:
    system = lab_connection.system_service()
    hosts = system.hosts_service()
    added = hosts.add(t.Host(name="labnew01", address="labnew01.lab.example", cluster=t.Cluster(name="Default"), root_password="s3cret"))
    service = hosts.host_service(added.id)
    host = service.get()
    # installing, then up (at once on the virtual clock); no fence agent, no power management, no password shown
    assert host.status == t.HostStatus.UP and host.root_password is None and host.power_management.enabled is False
    assert service.fence_agents_service().list() == []
    assert [h.id for h in hosts.list(search="name=labnew01")] == [added.id]
    with pytest.raises(ovirtsdk4.Error) as duplicate:
        hosts.add(t.Host(name="LABNEW01", address="other.lab.example", cluster=t.Cluster(name="Default")))
    assert _fault(duplicate) == (409, "[Cannot add Host. The Host name is already in use, please choose a unique name and try again.]")
    with pytest.raises(ovirtsdk4.Error) as operational:
        service.remove()
    assert _fault(operational) == (409, "[Cannot remove Host. Host is operational. Please switch Host to Maintenance mode first.]")
    service.deactivate()
    assert service.get().status == t.HostStatus.MAINTENANCE
    service.remove()
    with pytest.raises(ovirtsdk4.NotFoundError):
        service.get()
    assert hosts.list(search="name=labnew01") == []
    codes = [e.code for e in system.events_service().list(max=20) if "labnew01" in (e.description or "")]
    assert 42 in codes and 44 in codes
    # the name is free again
    again = hosts.add(t.Host(name="labnew01", address="labnew01.lab.example", cluster=t.Cluster(id=host.cluster.id)))
    hosts.host_service(again.id).deactivate()
    hosts.host_service(again.id).remove()


# -- templates -------------------------------------------------------------------------------------------------------
def test_templates_blank(lab_connection: ovirtsdk4.Connection) -> None:
    system = lab_connection.system_service()
    templates = system.templates_service()
    assert [(x.id, x.name) for x in templates.list()] == [(BLANK, "Blank")]
    assert templates.template_service(BLANK).get().version.version_number == 1
    assert [x.name for x in templates.list(search="vm.name=vm0001")] == ["Blank"]
    assert templates.list(search="name=nothing") == []
    assert system.vms_service().list(search="name=vm0001")[0].template.id == BLANK


# -- BMC sensors -----------------------------------------------------------------------------------------------------
def _ipmitool(port: int, username: str, password: str, *args: str) -> str:
    done = subprocess.run(["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", str(port), "-U", username, "-E", "-N", "1", "-R", "2", *args],
                          env={"IPMI_PASSWORD": password, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _readings(output: str) -> dict[str, str]:
    return {line.split("|")[0].strip(): line.split("|")[1].strip() for line in output.splitlines() if line.count("|") >= 2}


@pytest.mark.skipif(shutil.which("ipmitool") is None, reason="needs ipmitool")
def test_bmc_sdr_and_sensors_follow_the_machine(lab: LabHandle) -> None:
    bmc = lab.host("host02")["bmc"]
    running = sum(1 for hosts in lab.truth()["running"].values() if "host02" in hosts)
    readings = _readings(_ipmitool(bmc["port"], bmc["username"], bmc["password"], "sdr"))
    assert set(readings) == {"Pwr Consumption", "Inlet Temp"}
    watts = int(readings["Pwr Consumption"].split()[0])
    assert readings["Inlet Temp"].endswith("degrees C") and 30 <= int(readings["Inlet Temp"].split()[0]) <= 80
    assert watts == 4 * round((120 + 14 * running) / 4) and running > 0
    sensors = _ipmitool(bmc["port"], bmc["username"], bmc["password"], "sensor")
    assert "| Watts" in sensors and "| degrees C" in sensors
    # a machine that is off draws nothing
    port = free_udp_ports(1)[0]
    fleet = BmcFleet("127.0.0.1")
    target = SimplePowerTarget(on=False)
    fleet.add("off", port, "admin", "pw-off", target)
    fleet.start()
    try:
        assert _readings(_ipmitool(port, "admin", "pw-off", "sdr", "list")) == {"Pwr Consumption": "0 Watts", "Inlet Temp": "22 degrees C"}
        target.bmc_power("on")
        assert _readings(_ipmitool(port, "admin", "pw-off", "sdr"))["Pwr Consumption"] == "120 Watts"
        assert "Record Count                        : 2" in _ipmitool(port, "admin", "pw-off", "sdr", "info")
    finally:
        fleet.stop()
