from __future__ import annotations

import pytest
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine import errors
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.diff import SECRET, DifferenceTracker
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.wait import wait_until


@pytest.mark.parametrize("exc, cls", [
    (sdk.AuthError("bad"), errors.EngineAuthError),
    (sdk.ConnectionError("refused"), errors.EngineUnreachable),
    (sdk.TimeoutError("slow"), errors.EngineRequestTimeout),
    (sdk.NotFoundError("gone", code=404), errors.EngineNotFound),
    (sdk.Error("x", code=409, fault=types.Fault(reason="Operation Failed", detail="[Cannot run VM.]")),
     errors.EngineConflict),
    (sdk.Error("x", code=400, fault=types.Fault(reason="Incomplete parameters", detail="Host [name]")),
     errors.EngineBadRequest),
    (sdk.Error("Error while sending HTTP request: (60, 'SSL certificate problem')"), errors.EngineUnreachable),
    (sdk.Error("x", code=500), errors.EngineError),
    (sdk.Error("Failed to read response: [(<pycurl.Curl object at 0x1>, 28, 'Operation timed out after 1045 "
               "milliseconds with 0 bytes received')]"), errors.EngineRequestTimeout),
    (sdk.Error("Error while sending HTTP request: (7, 'Failed to connect to 127.0.0.1 port 9')"),
     errors.EngineUnreachable),
])
def test_sdk_errors_become_typed(exc, cls):
    with pytest.raises(errors.EngineError) as info:
        with errors.engine_call("updating VM vm1", obj="VM 'vm1'", expected="HA enabled"):
            raise exc
    assert info.value.__class__ is cls


def test_fault_message_names_everything():
    exc = sdk.Error("ignored", code=409, fault=types.Fault(reason="Operation Failed", detail="[VM is running.]"))
    error = errors.from_sdk(exc, action="updating VM vm1", obj="VM 'vm1'", expected="high_availability")
    result = error.to_result()
    assert result["http_code"] == 409
    assert result["engine_reason"] == "Operation Failed"
    assert result["engine_detail"] == "[VM is running.]"
    assert result["msg"] == ("updating VM vm1 failed; object: VM 'vm1'; expected: high_availability; "
                             "engine said: HTTP 409 - Operation Failed - [VM is running.]")
    assert result["error_type"] == "EngineConflict"


def test_input_error_names_field():
    error = errors.InputError("vms[2].priority", "an integer from 0 to 100", 150)
    assert str(error) == "invalid vms[2].priority: expected an integer from 0 to 100, got 150"


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_returns_when_done_with_backoff():
    clock = Clock()
    states = iter(["off", "off", "off", "on"])
    value = wait_until(lambda: next(states), lambda s: s == "on", what="power on", describe=str, timeout=60,
                       interval=1, max_interval=3, clock=clock.time, sleep=clock.sleep)
    assert value == "on"
    assert clock.sleeps == [1, 2, 3]


def test_wait_timeout_reports_last_state_and_never_oversleeps():
    clock = Clock()
    with pytest.raises(errors.WaitTimeout) as info:
        wait_until(lambda: "off", lambda s: s == "on", what="host01 power on", describe=lambda s: "power " + s,
                   timeout=10, interval=4, max_interval=100, clock=clock.time, sleep=clock.sleep)
    assert info.value.last_state == "power off"
    assert "last state seen: power off" in str(info.value)
    assert clock.now == 10
    assert info.value.to_result()["last_state"] == "power off"


def test_wait_stops_early_on_failed_state():
    clock = Clock()
    with pytest.raises(errors.EngineError, match="install_failed"):
        wait_until(lambda: "install_failed", lambda s: s == "up", what="up", describe=str, timeout=100,
                   failed=lambda s: "host is " + s if s == "install_failed" else None,
                   clock=clock.time, sleep=clock.sleep)
    assert clock.sleeps == []


def test_difference_tracker():
    tracker = DifferenceTracker()
    assert not tracker.add("vm1", "priority", 50, 50)
    assert tracker.add("vm1", "high_availability", False, True)
    tracker.add("h1", "agent.password", "s3cr3t-old", "s3cr3t-new", secret=True)
    assert tracker.changed
    assert tracker.changed_objects() == ["vm1", "h1"]
    diff = tracker.diff()
    assert diff["before"] == {"vm1": {"high_availability": False}, "h1": {"agent.password": SECRET}}
    assert diff["after"] == {"vm1": {"high_availability": True}, "h1": {"agent.password": SECRET}}
    assert "s3cr3t" not in repr(diff)


def test_difference_tracker_unchanged():
    tracker = DifferenceTracker()
    tracker.add("vm1", "priority", 1, 1)
    assert not tracker.changed
    assert tracker.diff() == {"before": {}, "after": {}}


def test_inlined_agents_tells_link_from_empty_list():
    from ovirtsdk4.reader import Reader
    from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.objects import inlined_agents

    linked = Reader.read(b'<host id="1"><link href="/ovirt-engine/api/hosts/1/fenceagents" rel="agents"/></host>')
    inlined = Reader.read(b'<host id="1"><agents><agent id="2"><type>ipmilan</type></agent></agents></host>')
    empty = Reader.read(b'<host id="1"><agents/></host>')
    assert inlined_agents(linked) is None
    assert [a.type for a in inlined_agents(inlined)] == ["ipmilan"]
    assert inlined_agents(empty) == []


def test_curl_timeout_message_is_readable():
    exc = sdk.Error("Failed to read response: [(<pycurl.Curl object at 0x1>, 28, 'Operation timed out after 1045 "
                    "milliseconds with 0 bytes received')]")
    error = errors.from_sdk(exc, action="listing clusters")
    assert str(error) == ("listing clusters failed: no answer within auth.timeout "
                          "(Operation timed out after 1045 milliseconds with 0 bytes received)")
