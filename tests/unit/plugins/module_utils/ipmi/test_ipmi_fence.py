"""The verified fence sequence against a fake BMC on a virtual clock."""
from __future__ import annotations

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.fence import FenceRequest, fence, plan
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ipmi.fake_bmc import (
    FakeBmc, FakeClock, connected)


def run(bmc, clock=None, **kwargs):
    clock = clock or FakeClock()
    kwargs.setdefault("power_wait", 2.0)
    kwargs.setdefault("power_timeout", 20.0)
    progress = []
    record = fence(connected(bmc), FenceRequest(**kwargs), "host01 (192.0.2.10:623)", clock,
                   progress=lambda rec: progress.append(dict(rec)))
    return record, clock, progress


@pytest.mark.parametrize("action,method,power,expected", [
    ("off", "onoff", "on", ["off"]), ("off", "onoff", "off", []),
    ("on", "onoff", "off", ["on"]), ("on", "onoff", "on", []),
    ("reboot", "onoff", "on", ["off", "on"]), ("reboot", "cycle", "on", ["cycle"]),
    ("reboot", "onoff", "off", ["on"]), ("reboot", "cycle", "off", ["on"]),
    ("status", "onoff", "on", []),
])
def test_plan(action, method, power, expected):
    assert plan(action, method, power) == expected


def test_off_confirmed():
    bmc = FakeBmc("on", lag_polls=2)
    record, clock, progress = run(bmc, action="off")
    assert bmc.commands == ["off"]
    assert record["result"] == "success" and record["fenced"] is True and record["changed"] is True
    assert record["power_before"] == "on" and record["power_after"] == "off"
    attempt = record["phases"][0]["attempts"][0]
    assert attempt["states_seen"] == ["on x2", "off"]
    assert "confirmed_at" in attempt
    assert clock.sleeps[0] == 2.0  # power_wait before the first reading
    assert progress and progress[-1]["result"] == "success"


def test_stuck_power_fails_after_power_timeout_with_states_seen():
    bmc = FakeBmc("on", stuck=True)
    record, clock, _progress = run(bmc, action="off", power_wait=2, power_timeout=20)
    assert record["result"] == "failed"
    assert record["fenced"] is False and record["changed"] is True
    assert bmc.commands == ["off"]
    error = record["error"]
    assert error["kind"] == "timed_out"
    assert "did not confirm power off" in error["msg"] and "NOT fenced" in error["msg"]
    assert error["states_seen"][0].startswith("on x")
    assert "host01 (192.0.2.10:623)" in error["msg"]
    # never earlier than power_wait + power_timeout, never much later
    assert 22.0 <= clock.now - 1000.0 <= 22.5
    assert record["phases"][0]["confirmed"] is False


def test_stuck_power_with_retries_resends_and_still_fails():
    bmc = FakeBmc("on", stuck=True)
    record, _clock, _progress = run(bmc, action="off", retries=2, power_timeout=5)
    assert bmc.commands == ["off", "off", "off"]
    assert len(record["phases"][0]["attempts"]) == 3
    assert record["result"] == "failed" and "after 3 attempt(s)" in record["error"]["msg"]


def test_retry_succeeds_when_second_command_works():
    bmc = FakeBmc("on", stuck=True)
    clock = FakeClock()
    original_sleep = clock.sleep

    def unstick_after_first_timeout(seconds):
        original_sleep(seconds)
        if clock.now - 1000.0 > 6:
            bmc.stuck = False

    clock.sleep = unstick_after_first_timeout
    record, _clock, _progress = run(bmc, clock, action="off", retries=1, power_timeout=5)
    assert record["result"] == "success" and record["fenced"] is True
    assert [a.get("confirmed_at") is not None for a in record["phases"][0]["attempts"]] == [False, True]


def test_refused_command_is_reported_not_fenced():
    bmc = FakeBmc("on", refuse=0xD5)
    record, _clock, _progress = run(bmc, action="off", retries=1)
    assert record["result"] == "failed" and record["fenced"] is False
    assert record["error"]["kind"] == "command_refused"
    assert "0xD5" in record["error"]["msg"] and "NOT fenced" in record["error"]["msg"]
    assert bmc.commands == ["off", "off"]


def test_reboot_onoff_confirms_both_phases():
    bmc = FakeBmc("on", lag_polls=1)
    record, _clock, _progress = run(bmc, action="reboot", power_wait=0)
    assert bmc.commands == ["off", "on"]
    assert [p["expect"] for p in record["phases"]] == ["off", "on"]
    assert all(p["confirmed"] for p in record["phases"])
    assert record["result"] == "success" and record["fenced"] is True and record["power_after"] == "on"


def test_reboot_whose_power_on_fails_is_fenced_but_failed():
    bmc = FakeBmc("on")
    conn = connected(bmc)
    original = bmc.raw_command

    def no_power_on(netfn, command, data=()):
        if (netfn, command) == (0, 2) and data[0] == 1:
            bmc.commands.append("on")
            return {"netfn": 1, "command": 2, "code": 0, "data": bytearray()}  # accepted, ignored
        return original(netfn, command, data)

    bmc.raw_command = no_power_on
    record = fence(conn, FenceRequest(action="reboot", power_wait=0, power_timeout=3), "host01", FakeClock())
    assert record["result"] == "failed" and record["fenced"] is True
    assert record["power_after"] == "off"
    assert "NOT fenced" not in record["error"]["msg"]


def test_reboot_cycle_sends_one_cycle():
    bmc = FakeBmc("on")
    record, _clock, _progress = run(bmc, action="reboot", method="cycle")
    assert bmc.commands == ["cycle"] and record["result"] == "success"


class CyclingBmc(FakeBmc):
    """A cycle shows off for one status poll before the power is on again."""

    def raw_command(self, netfn, command, data=()):
        answer = super().raw_command(netfn, command, data)
        if (netfn, command) == (0, 2) and self.commands[-1] == "cycle":
            self.power, self._pending, self._pending_polls = "off", "on", 1
        return answer


def test_reboot_cycle_without_an_observed_off_is_not_fenced():
    # "command sent" is not "fenced": a BMC that accepts the cycle but never powers off must not count
    bmc = FakeBmc("on", stuck=True)
    record, _clock, _progress = run(bmc, action="reboot", method="cycle")
    assert bmc.commands == ["cycle"] and record["changed"] is True
    assert record["fenced"] is False


def test_reboot_cycle_with_an_observed_off_is_fenced():
    bmc = CyclingBmc("on")
    record, _clock, _progress = run(bmc, action="reboot", method="cycle")
    assert bmc.commands == ["cycle"] and record["result"] == "success"
    assert record["phases"][0]["attempts"][0]["states_seen"] == ["off", "on"]
    assert record["fenced"] is True


def test_reboot_of_a_host_found_off_is_fenced_by_the_reading():
    bmc = FakeBmc("off")
    record, _clock, _progress = run(bmc, action="reboot", method="cycle")
    assert bmc.commands == ["on"] and record["fenced"] is True and record["power_after"] == "on"


def test_check_mode_sends_nothing_and_does_not_wait():
    bmc = FakeBmc("on")
    record, clock, _progress = run(bmc, action="reboot", check_mode=True, delay=30)
    assert bmc.commands == []
    assert record["changed"] is True and record["commands"] == ["off", "on"]
    assert record["fenced"] is False and clock.sleeps == []


def test_off_when_already_off_is_confirmed_by_reading():
    bmc = FakeBmc("off")
    record, _clock, _progress = run(bmc, action="off")
    assert bmc.commands == [] and record["changed"] is False and record["fenced"] is True


def test_status_reads_only():
    bmc = FakeBmc("off")
    record, _clock, _progress = run(bmc, action="status")
    assert bmc.commands == [] and record["power_before"] == "off" and record["fenced"] is False


def test_delay_before_first_command():
    bmc = FakeBmc("on")
    _record, clock, _progress = run(bmc, action="off", delay=7, power_wait=0)
    assert clock.sleeps[0] == 7


def test_bmc_stops_answering_mid_fence():
    bmc = FakeBmc("on", stuck=True, stop_answering_after=3)
    record, _clock, _progress = run(bmc, action="off")
    assert record["result"] == "failed" and record["error"]["kind"] == "timed_out"
    assert "stopped answering" in record["error"]["msg"] or "did not answer" in record["error"]["msg"]


def test_budget_covers_every_attempt():
    request = FenceRequest(action="reboot", power_wait=2, power_timeout=20, retries=1, delay=5)
    assert request.budget() >= 5 + 2 * 2 * 22
