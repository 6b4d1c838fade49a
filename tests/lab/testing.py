"""Python helpers for tests: ``running_lab(**opts)`` brings a lab up and always takes it down again."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any, Iterator, Optional

from tests.lab import cli


# labs that are up right now: the pytest guard (tests/conftest.py) checks each for violations after every test
LIVE: list["LabHandle"] = []


class LabViolation(AssertionError):
    """The lab recorded a violation (split brain, unsafe fence, ...) that the test did not expect."""


class LabHandle:
    """A running lab: ``info`` is lab.json; the methods call the admin endpoint."""

    def __init__(self, state_dir: str, info: dict[str, Any]) -> None:
        self.state_dir = state_dir
        self.info = info
        self.admin_url: str = info["admin_url"]
        # violations with an id up to this one were expected by a test (or already reported)
        self.accounted = 0

    def _call(self, method: str, route: str, payload: Optional[dict[str, Any]] = None) -> Any:
        return cli.admin_call(self.admin_url, method, route, payload)

    def fault(self, kind: str, target: Optional[str] = None, value: Any = None) -> Any:
        return self._call("POST", "/faults", {"kind": kind, "target": target, "value": value})

    def clear_faults(self, kind: Optional[str] = None) -> Any:
        """Remove every fault, or only those of ``kind``."""
        if kind is None:
            return self._call("DELETE", "/faults")
        return self._call("POST", "/faults/clear", {"kind": kind})

    def step(self, seconds: float) -> float:
        result: float = self._call("POST", "/clock/step", {"seconds": seconds})["now"]
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/stats")
        return result

    def reset_stats(self) -> Any:
        return self._call("POST", "/stats/reset")

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/state")
        return result

    def engine_ha(self, **features: bool) -> dict[str, bool]:
        result: dict[str, bool] = self._call("POST", "/engine-ha", dict(features))
        return result

    def violations(self) -> list[dict[str, Any]]:
        """Every violation the lab recorded so far (GET /lab/violations)."""
        result: list[dict[str, Any]] = self._call("GET", "/violations")["violations"]
        return result

    def expect_violations(self, *kinds: str) -> list[dict[str, Any]]:
        """The violations recorded since the last check, which must be exactly ``kinds`` (in any order); they are then
        accounted for.  A test that provokes a violation on purpose asserts it this way."""
        new = [v for v in self.violations() if v["id"] > self.accounted]
        assert sorted(v["kind"] for v in new) == sorted(kinds), f"expected violations {sorted(kinds)}, lab recorded: {new}"
        if new:
            self.accounted = new[-1]["id"]
        return new

    def check_violations(self) -> None:
        """Raise LabViolation for violations no test expected (each is reported once)."""
        new = [v for v in self.violations() if v["id"] > self.accounted]
        if new:
            self.accounted = new[-1]["id"]
            raise LabViolation("the lab recorded violations:\n" + "\n".join(cli.format_violation(v) for v in new))

    def journal(self, since: int = 0) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/journal?since={since}")["entries"]
        return result

    def truth(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/truth")
        return result

    def host(self, name: str) -> dict[str, Any]:
        return next(h for h in self.info["hosts"] if h["name"] == name)

    def host_state(self, name: str) -> dict[str, Any]:
        return next(h for h in self.state()["hosts"] if h["name"] == name)

    def connection(self, **kwargs: Any) -> Any:
        """An ovirtsdk4 Connection to the lab engine over HTTPS with the lab CA."""
        import ovirtsdk4  # pylint: disable=import-outside-toplevel

        engine = self.info["engine"]
        options = {"url": engine["url"], "username": engine["username"], "password": engine["password"], "ca_file": engine["ca_file"]}
        options.update(kwargs)
        return ovirtsdk4.Connection(**options)


@contextlib.contextmanager
def running_lab(state_dir: Optional[str] = None, **opts: Any) -> Iterator[LabHandle]:
    """``opts`` are those of ``cli.up``: hosts, vms, hosted_engine, time_scale, virtual_clock, engine_uptime, no_bmcs."""
    with contextlib.ExitStack() as stack:
        if state_dir is None:
            state_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="lab-"))
        try:
            # a test run killed before its clean-up must not leave the lab running
            opts.setdefault("owner_pid", os.getpid())
            info = cli.up(state_dir, **opts)
            handle = LabHandle(state_dir, info)
            LIVE.append(handle)
            try:
                yield handle
                handle.check_violations()
            finally:
                LIVE.remove(handle)
        finally:
            cli.down(state_dir)
