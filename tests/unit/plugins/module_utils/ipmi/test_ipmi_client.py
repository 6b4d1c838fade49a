"""Error mapping at the pyghmi boundary, chassis decoding, option parsing."""
from __future__ import annotations

import socket

import pytest
from pyghmi.exceptions import IpmiException

from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi import errors
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.client import BmcConnection, login_error
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.target import targets_from_params
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ipmi.fake_bmc import (
    FakeBmc, connected, target)


@pytest.mark.parametrize("exc,heard,kind,words", [
    (IpmiException("None"), False, "unreachable", ["did not answer", "port", "firewalls"]),
    (IpmiException("None"), True, "authentication_failed", ["login never completed", "user name"]),
    (IpmiException("Incorrect password provided"), True, "authentication_failed", ["password of user 'admin'"]),
    (IpmiException("Unauthorized name in RAKP2"), True, "authentication_failed", ["does not know the user 'admin'"]),
    (IpmiException("Unauthorized role or privilege level requested in RAKP2"), True, "authentication_failed",
     ["privilege 'administrator'"]),
    (IpmiException("cipher suite 17 refused by the BMC"), True, "authentication_failed", ["cipher suite 17"]),
    (IpmiException("Insufficient resources to create new session (wait for existing sessions to timeout)"),
     True, "command_refused", ["no free session slot"]),
    (socket.gaierror(-2, "Name or service not known"), False, "unreachable", ["cannot resolve"]),
    (ConnectionRefusedError(111, "refused"), False, "unreachable", ["network error"]),
])
def test_login_error_mapping(exc, heard, kind, words):
    error = login_error(target("host07"), exc, heard)
    assert error.kind == kind
    text = str(error)
    assert "host07 (192.0.2.10:623)" in text
    for word in words:
        assert word in text
    assert "'None'" not in text and "pyghmi: None" not in text
    assert "s3cret" not in text


def test_connection_maps_login_failure_and_never_leaks_password():
    bmc = FakeBmc(login_error=IpmiException("Incorrect password provided"))
    conn = BmcConnection(target(), bmc.factory)
    with pytest.raises(errors.BmcAuthenticationFailed) as info:
        conn.open()
    assert "s3cret" not in repr(info.value.to_result()) and "s3cret" not in repr(target())


def test_connection_always_logs_out():
    bmc = FakeBmc("on", refuse=0xD4)
    with pytest.raises(errors.BmcCommandRefused) as info:
        with BmcConnection(target(), bmc.factory) as conn:
            conn.send_power("off")
    assert bmc.logouts == 1
    assert info.value.code == 0xD4 and "0xD4" in str(info.value) and "operator or administrator" in str(info.value)


def test_timeout_reply_is_timed_out():
    bmc = FakeBmc("on", stop_answering_after=0)
    with pytest.raises(errors.BmcTimedOut):
        connected(bmc).power_state()


def test_exception_in_raw_command_is_timed_out():
    bmc = FakeBmc("on")
    conn = connected(bmc)

    def boom(*_args, **_kwargs):
        raise IpmiException("Session no longer connected")

    bmc.raw_command = boom
    with pytest.raises(errors.BmcTimedOut) as info:
        conn.power_state()
    assert "stopped answering" in str(info.value)


def test_chassis_status_decoding():
    bmc = FakeBmc("on")
    original = bmc.raw_command
    bmc.raw_command = lambda netfn, command, data=(): (
        {"code": 0, "data": bytearray([0b0101_1011, 0, 0b0000_1001, 0])} if (netfn, command) == (0, 1)
        else original(netfn, command, data))
    status = connected(bmc).chassis_status()
    assert status == {"power": "on", "power_overload": True, "power_interlock": False, "main_power_fault": True,
                      "power_control_fault": True, "power_restore_policy": "always-on", "chassis_intrusion": True,
                      "front_panel_lockout": False, "drive_fault": False, "cooling_fault": True}


BASE = dict(port=623, username="root", password="pw", privilege="administrator", cipher=3, timeout=5)


def test_bmcs_inherit_connection_options():
    targets = targets_from_params(dict(BASE, bmcs=[{"name": "h1", "address": "10.0.0.1"},
                                                   {"address": "10.0.0.2", "port": 6230, "password": "other"}]))
    assert [t.name for t in targets] == ["h1", "10.0.0.2:6230"]
    assert targets[0].password == "pw" and targets[1].password == "other" and targets[1].port == 6230
    assert targets[0].label == "h1 (10.0.0.1:623)" and targets[1].label == "10.0.0.2:6230"


def test_single_address():
    (only,) = targets_from_params(dict(BASE, address="bmc.example.com", name="host09"))
    assert only.name == "host09" and only.address == "bmc.example.com"


@pytest.mark.parametrize("params,words", [
    (dict(BASE), "one of address or bmcs"),
    (dict(BASE, bmcs=[{"name": "a", "address": "x"}, {"name": "a", "address": "y"}]), "bmcs[1].name"),
    (dict(BASE, address="x", cipher=0), "cipher suite 0"),
    (dict(BASE, address="x", port=70000), "address.port"),
    (dict(BASE, address="x", username=None), "IPMI_USERNAME"),
    (dict(BASE, address="x", privilege="root"), "privilege"),
    (dict(BASE, address="x", timeout=-1), "timeout"),
])
def test_invalid_options_name_the_field(params, words):
    with pytest.raises(errors.IpmiInputError) as info:
        targets_from_params(params)
    assert words in str(info.value)


def test_error_round_trip():
    original = errors.PowerStateTimeout("x", states_seen=["on x3"])
    rebuilt = errors.error_from_result(original.to_result())
    assert isinstance(rebuilt, errors.BmcTimedOut) and rebuilt.states_seen == ["on x3"]
