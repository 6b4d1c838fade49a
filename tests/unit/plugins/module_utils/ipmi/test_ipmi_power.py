"""ipmi_power's logic: idempotence, check mode, verification, against a fake BMC."""
from __future__ import annotations

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.errors import PowerStateTimeout
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.power import PowerRequest, set_power
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ipmi.fake_bmc import (
    FakeBmc, FakeClock, connected)


def power(bmc, state, **kwargs):
    return set_power(connected(bmc), PowerRequest(state=state, **kwargs), "host01", FakeClock())


@pytest.mark.parametrize("state,initial", [("on", "on"), ("off", "off"), ("soft", "off"), ("status", "on")])
def test_idempotent_states_send_nothing(state, initial):
    bmc = FakeBmc(initial)
    result = power(bmc, state)
    assert result["changed"] is False and result["command"] is None and bmc.commands == []
    assert result["power"] == initial


@pytest.mark.parametrize("state,expected", [("off", "off"), ("soft", "off"), ("reset", "on"), ("cycle", "on")])
def test_change_is_verified(state, expected):
    bmc = FakeBmc("on", lag_polls=3)
    result = power(bmc, state)
    assert bmc.commands == [state] and result["changed"] is True
    assert result["power"] == expected
    assert result["states_seen"][-1] == expected


@pytest.mark.parametrize("state", ["reset", "cycle"])
def test_reset_or_cycle_of_a_machine_that_is_off_powers_it_on(state):
    bmc = FakeBmc("off")
    result = power(bmc, state)
    assert bmc.commands == ["on"] and result["power"] == "on" and "instead" in result["msg"]


def test_check_mode_sends_no_power_command():
    bmc = FakeBmc("on")
    result = power(bmc, "off", check_mode=True)
    assert bmc.commands == [] and result["changed"] is True and result["command"] == "off"
    assert result["power"] == "off" and result["power_before"] == "on"


def test_wait_timeout_reports_states_seen():
    bmc = FakeBmc("on", stuck=True)
    with pytest.raises(PowerStateTimeout) as info:
        power(bmc, "off", wait_timeout=3)
    assert info.value.kind == "timed_out"
    assert "host01" in str(info.value) and "states seen: on x" in str(info.value)


def test_no_wait_reads_state_once():
    bmc = FakeBmc("on", lag_polls=5)
    result = power(bmc, "off", wait=False)
    assert result["changed"] is True and result["power"] == "on" and "states_seen" not in result
