"""Our records in the engine's event log, the reconciler policy, and ha_reconcile's options turned into a request."""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Dict, Optional

import pytest
import yaml  # type: ignore[import-untyped]

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.errors import InputError
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.lease import DEFAULT_TTL, action_budget
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.model import Event
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.options import POLICY_OPTIONS, build_request
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.policy import (
    _NUMBERS, FENCE_METHODS, PolicyError, ReconcilePolicy, policy_from_params)
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.records import ORIGIN, Memory, custom_id, parse, tag
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi import bulk
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.fence import FenceRequest
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.target import BmcTarget
from ansible_collections.ovirt_ha.core.plugins.modules import ha_reconcile


def event(description: str, origin: str = ORIGIN, index: int = 1) -> Event:
    return Event(index=index, code=0, time=1000.0 + index, description=description, origin=origin)


# -- records -----------------------------------------------------------------------------------------------

def test_custom_id_is_stable_and_a_positive_31_bit_int() -> None:
    ident = custom_id("c1", "lease", "c1", 7, 0)
    assert ident == custom_id("c1", "lease", "c1", 7, 0)
    assert 0 < ident <= 0x7FFFFFFF


@pytest.mark.parametrize("changed", [
    ("c2", "fence", "h1", 5, 1), ("c1", "start", "h1", 5, 1), ("c1", "fence", "h2", 5, 1), ("c1", "fence", "h1", 6, 1),
    ("c1", "fence", "h1", 5, 2)])
def test_custom_id_differs_by_each_field(changed: tuple) -> None:
    assert custom_id(*changed) != custom_id("c1", "fence", "h1", 5, 1)


def test_custom_ids_stay_in_range_for_many_decisions() -> None:
    ids = {custom_id("cluster", "lease", "cluster", generation) for generation in range(2000)}
    assert len(ids) == 2000
    assert all(0 < i <= 0x7FFFFFFF for i in ids)


def test_tag_parse_round_trip() -> None:
    text = "ovirt_ha.core fencing host host04 %s" % tag("fence", "id-host04", 1699999400, 2, rule="x", witnesses="a,b")
    record = parse(event(text))
    assert record is not None
    assert (record.kind, record.ref, record.episode, record.n) == ("fence", "id-host04", 1699999400, 2)
    assert record.fields == {"rule": "x", "witnesses": "a,b"}


def test_tag_orders_extra_fields_and_keeps_empty_values() -> None:
    assert tag("outage", "h", 3, witnesses="", a="1") == "[ovirt_ha.core kind=outage ref=h episode=3 n=0 a=1 witnesses=]"
    record = parse(event("x " + tag("outage", "h", 3, witnesses="")))
    assert record is not None and record.fields == {"witnesses": ""}


@pytest.mark.parametrize("description, origin", [
    ("x " + tag("fence", "h", 1), "oVirt"),                         # the same text from another origin
    ("no tag at all", ORIGIN),
    ("[ovirt_ha.core kind=fence ref=h episode=1 n=0] and then more", ORIGIN),  # the tag must end the text
    ("[ovirt_ha.core kind=fence ref=h n=0]", ORIGIN),               # no episode
    ("[ovirt_ha.core kind=fence ref=h episode=soon n=0]", ORIGIN),  # not a number
    ("[ovirt_ha.core ref=h episode=1 n=0]", ORIGIN),                # no kind
    ("", ORIGIN),
])
def test_foreign_or_garbage_events_are_ignored(description: str, origin: str) -> None:
    assert parse(event(description, origin)) is None
    assert Memory([event(description, origin)]).records == []


def test_memory_attempts_oldest_first_per_episode() -> None:
    events = [event("a " + tag("fence", "h", 5, 2), index=9), event("b " + tag("fence", "h", 5, 1), index=4),
              event("c " + tag("fence", "h", 6, 1), index=5), event("d " + tag("fence", "other", 5, 1), index=6)]
    memory = Memory(events)
    assert [r.n for r in memory.attempts("fence", "h", 5)] == [1, 2]
    assert len(memory.of("fence", "h")) == 3
    latest = memory.latest("fence")
    assert latest is not None and latest.event.index == 9


# -- policy ------------------------------------------------------------------------------------------

def test_defaults() -> None:
    assert policy_from_params(None) == policy_from_params({}) == ReconcilePolicy()
    policy = ReconcilePolicy()
    assert (policy.fence_budget, policy.fence_method, policy.connectivity_threshold, policy.max_fence_attempts) == (
        1, "engine_then_ipmi", 50, 3)
    assert policy.fence_when_cluster_fencing_disabled is False and policy.power_on_after_fence is True


def test_none_means_default() -> None:
    assert policy_from_params({"fence_budget": None, "grace": None}) == ReconcilePolicy()


@pytest.mark.parametrize("name", sorted(_NUMBERS))
def test_each_number_out_of_range_names_its_field(name: str) -> None:
    _kind, _default, low, high = _NUMBERS[name]
    for value in (low - 1, high + 1):
        with pytest.raises(PolicyError) as info:
            policy_from_params({name: value})
        assert info.value.field == "policy.%s" % name
        assert info.value.expected == "%s between %g and %g" % ("a whole number" if _kind is int else "a number", low, high)


@pytest.mark.parametrize("name", sorted(_NUMBERS))
@pytest.mark.parametrize("value", ["many", [1], True])
def test_each_number_of_the_wrong_type_names_its_field(name: str, value: Any) -> None:
    with pytest.raises(PolicyError) as info:
        policy_from_params({name: value})
    assert info.value.field == "policy.%s" % name


@pytest.mark.parametrize("name", sorted(_NUMBERS))
def test_each_number_at_its_bounds_is_accepted(name: str) -> None:
    kind, _default, low, high = _NUMBERS[name]
    for value in (low, high):
        policy = policy_from_params({name: value})
        assert getattr(policy, name) == value and isinstance(getattr(policy, name), kind) and not isinstance(getattr(policy, name), bool)


def test_numbers_as_text_are_converted() -> None:
    assert policy_from_params({"fence_budget": "2", "grace": "12.5"}).grace == 12.5


@pytest.mark.parametrize("name, value", [("fence_budget", 1.5), ("fence_budget", 1.9), ("connectivity_threshold", 49.9),
                                         ("max_fence_attempts", 2.5), ("max_start_attempts", "2.5")])
def test_a_fraction_for_an_integer_field_is_refused(name: str, value: Any) -> None:
    with pytest.raises(PolicyError) as info:
        policy_from_params({name: value})
    low, high = _NUMBERS[name][2:]
    assert info.value.field == "policy.%s" % name
    assert info.value.expected == "a whole number between %g and %g" % (low, high)


def test_a_whole_float_for_an_integer_field_is_that_integer() -> None:
    policy = policy_from_params({"fence_budget": 2.0, "connectivity_threshold": 40.0})
    assert (policy.fence_budget, policy.connectivity_threshold) == (2, 40)
    assert isinstance(policy.fence_budget, int) and isinstance(policy.connectivity_threshold, int)
    assert not isinstance(policy.fence_budget, float) and not isinstance(policy.connectivity_threshold, float)


def test_a_fraction_for_a_float_field_is_kept() -> None:
    assert policy_from_params({"grace": 12.5, "confirm_timeout": 45.5}).confirm_timeout == 45.5


def test_unknown_key_names_it() -> None:
    with pytest.raises(PolicyError) as info:
        policy_from_params({"fence_budget": 1, "fence_everything": True})
    assert info.value.field == "policy.fence_everything"


def test_prefix_is_used_in_the_field() -> None:
    with pytest.raises(PolicyError) as info:
        policy_from_params({"grace": -1}, prefix="reconcile_policy")
    assert info.value.field == "reconcile_policy.grace"


@pytest.mark.parametrize("name", ["fence_when_cluster_fencing_disabled", "power_on_after_fence", "start_ha_vms"])
def test_bool_fields(name: str) -> None:
    assert getattr(policy_from_params({name: True}), name) is True
    assert getattr(policy_from_params({name: False}), name) is False
    for value in ("yes", 1, 0):
        with pytest.raises(PolicyError) as info:
            policy_from_params({name: value})
        assert info.value.field == "policy.%s" % name and info.value.expected == "true or false"


def test_fence_method_choices() -> None:
    for method in FENCE_METHODS:
        assert policy_from_params({"fence_method": method}).fence_method == method
    with pytest.raises(PolicyError) as info:
        policy_from_params({"fence_method": "ssh"})
    assert info.value.field == "policy.fence_method" and "engine_then_ipmi" in info.value.expected


# -- options -> request -----------------------------------------------------------------------------

def params(**overrides: Any) -> Dict[str, Any]:
    """What AnsibleModule hands main() for ha_reconcile with only ``cluster`` set, plus ``overrides``."""
    values: Dict[str, Any] = {"cluster": "Default", "bmcs": [], "bmc_port": 623, "bmc_username": None, "bmc_password": None,
                              "bmc_timeout": 15.0, "policy": {}, "lease": {"ttl": 180.0, "holder": None}, "event_window": 2000}
    values.update(overrides)
    return values


def bmc(name: str, address: Optional[str] = None, **kwargs: Any) -> Dict[str, Any]:
    entry = {"name": name, "address": address or "10.0.0.%d" % (len(name) + 10), "port": None, "username": None,
             "password": None}
    entry.update(kwargs)
    return entry


def input_error(**overrides: Any) -> InputError:
    with pytest.raises(InputError) as info:
        build_request(params(**overrides), False)
    return info.value


def test_build_request_defaults() -> None:
    request, order = build_request(params(lease={"ttl": 300.0, "holder": "ctl-a"}), True)
    assert request.cluster == "Default" and request.policy == ReconcilePolicy()
    assert (request.lease_ttl, request.holder, request.check_mode, request.event_window) == (300.0, "ctl-a", True, 2000)
    assert request.bmcs == {} and order == []
    # the longest action, a confirmed power off: 2 x bmc_timeout + 2 + confirm_timeout + 15
    assert request.action_budget == 2 * 15 + 2 + 60 + 15 == action_budget(ReconcilePolicy(), 15)


def test_build_request_default_ttl_is_the_modules() -> None:
    request, _order = build_request(params(lease={"ttl": None, "holder": None}), False)
    assert request.lease_ttl == DEFAULT_TTL == 180
    assert build_request(params(lease={}), False)[0].lease_ttl == 180


@pytest.mark.parametrize("bmc_timeout, confirm_timeout", [(15.0, 60.0), (5.0, 5.0), (30.0, 600.0)])
def test_action_budget_follows_the_bmc_timeout_and_the_confirm_timeout(bmc_timeout: float, confirm_timeout: float) -> None:
    budget = action_budget(ReconcilePolicy(confirm_timeout=confirm_timeout), bmc_timeout)
    assert budget == 2 * bmc_timeout + 2 + confirm_timeout + 15
    target = BmcTarget(name="host04", address="192.0.2.4", username="u", password="p", timeout=bmc_timeout)
    # at least what the IPMI layer allows a confirmed power off
    assert budget >= bulk._fence_budget((target, FenceRequest(action="off", power_timeout=confirm_timeout)))
    if budget + 30 <= 3600:
        request, _order = build_request(params(bmc_timeout=bmc_timeout, policy={"confirm_timeout": confirm_timeout},
                                               lease={"ttl": budget + 30, "holder": None}), False)
        assert (request.action_budget, request.lease_ttl) == (budget, budget + 30)
    error = input_error(bmc_timeout=bmc_timeout, policy={"confirm_timeout": confirm_timeout},
                        lease={"ttl": budget + 29, "holder": None})
    assert error.field == "lease.ttl"


def test_build_request_policy_error_names_policy_field() -> None:
    error = input_error(policy={"connectivity_threshold": 0})
    assert error.field == "policy.connectivity_threshold"
    assert str(error) == "invalid policy.connectivity_threshold: expected a whole number between 1 and 100, got 0"
    error = input_error(policy={"grace": -1})
    assert str(error) == "invalid policy.grace: expected a number between 0 and 3600, got -1"


def test_build_request_unknown_policy_key() -> None:
    assert input_error(policy={"bogus": 1}).field == "policy.bogus"


@pytest.mark.parametrize("ttl", [30.0, 120.0, 136.9, 3600.1, 7200.0])
def test_build_request_lease_ttl_range(ttl: float) -> None:
    error = input_error(lease={"ttl": ttl, "holder": None})
    assert error.field == "lease.ttl"
    assert str(error) == ("invalid lease.ttl: expected seconds between 137 (the longest action, a confirmed power off, plus "
                          "30 s) and 3600, got %r" % ttl)


@pytest.mark.parametrize("ttl", [137.0, 3600.0])
def test_build_request_lease_ttl_bounds_are_accepted(ttl: float) -> None:
    assert build_request(params(lease={"ttl": ttl, "holder": None}), False)[0].lease_ttl == ttl


def test_build_request_checks_the_lease_ttl_before_the_event_window_and_the_bmcs() -> None:
    error = input_error(lease={"ttl": 60.0, "holder": None}, event_window=5, bmcs=[bmc("host01")])
    assert error.field == "lease.ttl"


@pytest.mark.parametrize("window", [50, 200000])
def test_build_request_event_window_range(window: int) -> None:
    assert input_error(event_window=window).field == "event_window"


@pytest.mark.parametrize("overrides, field", [({"lease": {"ttl": 0, "holder": None}}, "lease.ttl"),
                                              ({"event_window": 0}, "event_window")])
def test_build_request_zero_is_out_of_range_not_the_default(overrides: Dict[str, Any], field: str) -> None:
    error = input_error(**overrides)
    assert error.field == field and str(error).endswith(", got 0")


def test_build_request_bmc_without_credentials_names_bmcs() -> None:
    error = input_error(bmcs=[bmc("host01")])
    assert error.field == "bmcs"
    assert "bmcs[0]: username and password are required" in str(error)


def test_build_request_keeps_the_bmc_order_and_inherits_credentials() -> None:
    entries = [bmc("host03"), bmc("host01", port=6230, username="other", password="pw2"), bmc("host02")]
    request, order = build_request(params(bmcs=entries, bmc_username="admin", bmc_password="secret", bmc_timeout=5.0),
                                   False)
    assert order == ["host03", "host01", "host02"] == list(request.bmcs)
    assert (request.bmcs["host03"].username, request.bmcs["host03"].port, request.bmcs["host03"].timeout) == ("admin", 623, 5.0)
    assert (request.bmcs["host01"].username, request.bmcs["host01"].password, request.bmcs["host01"].port) == (
        "other", "pw2", 6230)
    assert request.bmcs["host02"].privilege == "administrator"


def test_build_request_duplicate_bmc_name() -> None:
    error = input_error(bmcs=[bmc("host01"), bmc("host01")], bmc_username="u", bmc_password="p")
    assert error.field == "bmcs" and "used twice" in str(error)


def test_policy_options_mirror_the_dataclass() -> None:
    defaults = ReconcilePolicy().as_dict()
    assert set(POLICY_OPTIONS) == {f.name for f in fields(ReconcilePolicy)}
    for name, spec in POLICY_OPTIONS.items():
        assert spec["default"] == defaults[name]
        assert spec["type"] == {bool: "bool", int: "int", float: "float", str: "str"}[type(defaults[name])]
    for name, (kind, default, _low, _high) in _NUMBERS.items():
        assert POLICY_OPTIONS[name]["type"] == kind.__name__ and POLICY_OPTIONS[name]["default"] == default
    assert POLICY_OPTIONS["fence_method"]["choices"] == list(FENCE_METHODS)


def test_module_documentation_matches_the_policy_options() -> None:
    documented = yaml.safe_load(ha_reconcile.DOCUMENTATION)["options"]["policy"]["suboptions"]
    assert set(documented) == set(POLICY_OPTIONS)
    for name, spec in POLICY_OPTIONS.items():
        assert documented[name]["type"] == spec["type"], name
        assert documented[name]["default"] == spec["default"], name
        assert documented[name].get("choices") == spec.get("choices"), name
