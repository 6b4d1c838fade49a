"""Simulated IPMI BMCs for the lab, built on pyghmi's BMC server side.

Many BMCs are served by one process: pyghmi keeps every server socket in one
I/O thread, and one dispatcher thread (started by `BmcFleet.start`) runs the
protocol handlers for all of them.  Each BMC listens on its own UDP port on
127.0.0.1 with its own credentials, and its power is whatever its
`PowerTarget` says.

Deviations from pyghmi's stock server, each needed for real clients:
- An RMCP+ open-session request that proposes anything other than cipher
  suite 3 (HMAC-SHA1 / HMAC-SHA1-96 / AES-CBC-128) is refused with RMCP status
  0x11 ("no cipher suite match").  pyghmi's client proposes suite 17 first and
  only falls back to 3 on a refusal; cipher suite 0 (no authentication) is
  never accepted.
- An unknown user name is answered with RAKP2 status 0x0D ("unauthorized
  name") instead of silence, as real BMCs do.

Sessions: like a real BMC, each one has a small session table (MAX_SESSIONS); a session
counts until the client closes it or it idles for SESSION_IDLE seconds, and an open-session
request beyond the table is refused with RMCP status 0x01 ("insufficient resources").  So
a client that forgets to log out shows up (`BmcFleet.active_sessions`).

Sensors: each BMC has an SDR repository with two full sensor records, the power consumption
(watts) and the inlet temperature (degrees C), and answers Get SDR Repository Info, Reserve SDR
Repository, Get SDR, Get Sensor Reading and Get Sensor Thresholds, so `ipmitool sdr` and
`ipmitool sensor` work.  Readings follow the machine: 0 W when it is off, more watts and degrees
with every VM it runs (`PowerTarget.bmc_load`, when the target has it).

Faults: `set_unreachable` drops every packet, `set_password` changes the
password the BMC expects (the wrong-password fault), `set_stuck_power` makes
the BMC acknowledge power-off style commands without changing the power.

The power hooks run in the fleet's dispatcher thread: a `PowerTarget` shared
with other threads must do its own locking.
"""

from __future__ import annotations

import collections
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Protocol

import pyghmi.ipmi.bmc as pyghmi_bmc
import pyghmi.ipmi.private.constants as ipmi_constants
import pyghmi.ipmi.private.serversession as pyghmi_serversession
import pyghmi.ipmi.private.session as pyghmi_session

__all__ = ["PowerTarget", "BmcFleet", "SimplePowerTarget"]

# RMCP+ open session request (after the 16-byte RMCP/session header), per the
# IPMI 2.0 spec table 13-9: algorithm bytes of the three proposal payloads.
_AUTH_ALGO_OFFSET = 12
_INTEGRITY_ALGO_OFFSET = 20
_CONFIDENTIALITY_ALGO_OFFSET = 28
_SUITE3 = (1, 1, 1)  # HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128

_RMCP_INSUFFICIENT_RESOURCES = 0x01
_RMCP_NO_CIPHER_MATCH = 0x11
_RMCP_UNAUTHORIZED_NAME = 0x0D
_CC_OK = 0x00
_CC_NOT_IN_PRESENT_STATE = 0xD5
_CC_UNSPECIFIED = 0xFF

_OPEN_SESSION_REQUEST = 0x10
MAX_SESSIONS = 63  # what OpenIPMI's ipmi_sim allows
SESSION_IDLE = 60.0
# The dispatcher sleeps until pyghmi's I/O thread queues a packet for a session (see _SignallingQueue);
# this only bounds how long a stop() waits for it.  No polling: an idle fleet costs no CPU.
_DISPATCH_IDLE = 1.0


class PowerTarget(Protocol):
    """What a simulated BMC switches: the lab's host model implements this."""

    def bmc_power_state(self) -> bool:
        """True when the machine is powered on."""

    def bmc_power(self, action: str) -> None:
        """Apply 'on' | 'off' | 'cycle' | 'reset' | 'soft'."""


def _load_of(target: PowerTarget) -> int:
    """How busy the machine is (VMs it runs), for its sensor readings; targets without ``bmc_load`` idle."""
    load = getattr(target, "bmc_load", None)
    return int(load()) if callable(load) else 0


@dataclass(frozen=True)
class _Sensor:
    number: int
    name: str
    sensor_type: int  # IPMI sensor type code
    base_unit: int  # IPMI unit code
    multiplier: int  # M of the linear conversion: value = M * raw
    entity: int
    nominal: int  # raw nominal reading

    def raw(self, on: bool, load: int) -> int:
        if self.base_unit == _UNIT_WATTS:
            watts = 0 if not on else 120 + 14 * min(load, 60)
            return min(255, round(watts / self.multiplier))
        return min(255, 22 if not on else 34 + 2 * min(load, 20))

    def record(self, record_id: int) -> bytes:
        """The SDR: a full sensor record (IPMI 2.0 section 43.1), threshold type, no thresholds, linear."""
        name = self.name.encode("ascii")[:16]
        body = bytes([
            0x20, 0x00, self.number,  # owned by the BMC, LUN 0
            self.entity, 0x01, 0x7F, 0x40, self.sensor_type, 0x01,  # entity, instance, init, capabilities, type, threshold
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  # event masks, readable threshold mask: none
            0x00, self.base_unit, 0x00, 0x00,  # unsigned, unit, no modifier, linear
            self.multiplier & 0xFF, (self.multiplier >> 8) & 0x03, 0x00, 0x00, 0x00, 0x00,  # M, B = 0, accuracy, exponents 0
            0x01, self.nominal, 0xFF, 0x00, 0xFF, 0x00,  # nominal given, normal max/min, sensor max/min
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  # thresholds, hysteresis (not used)
            0x00, 0x00, 0x00,  # reserved, OEM
            0xC0 | len(name),  # 8-bit ASCII id string
        ]) + name
        return struct.pack("<HBBB", record_id, 0x51, 0x01, len(body)) + body


_UNIT_DEGREES_C = 0x01
_UNIT_WATTS = 0x06
SENSORS = (
    _Sensor(0x10, "Pwr Consumption", 0x0B, _UNIT_WATTS, 4, 0x15, 60),
    _Sensor(0x20, "Inlet Temp", 0x01, _UNIT_DEGREES_C, 1, 0x37, 36),
)
_NETFN_SENSOR = 0x04
_NETFN_STORAGE = 0x0A
_CC_INVALID_RESERVATION = 0xC5
_CC_NOT_PRESENT = 0xCB
_SDR_LAST = 0xFFFF


class SimplePowerTarget:
    """A power switch with no machine behind it (standalone runner, tests)."""

    def __init__(self, on: bool = True) -> None:
        self._on = on
        self._lock = threading.Lock()
        self.actions: List[str] = []

    def bmc_power_state(self) -> bool:
        with self._lock:
            return self._on

    def bmc_power(self, action: str) -> None:
        with self._lock:
            self.actions.append(action)
            if action in ("off", "soft"):
                self._on = False
            elif action in ("on", "cycle", "reset"):
                self._on = True


@dataclass
class _BmcSpec:
    name: str
    port: int
    username: str
    password: str
    target: PowerTarget
    unreachable: bool = False
    stuck_power: bool = False
    # the dict pyghmi's sessions read the password from; mutated in place so
    # a changed password applies to the next login
    authdata: Dict[str, str] = field(default_factory=dict)
    server: Optional["_LabBmc"] = None
    # established sessions -> monotonic time of their last packet
    sessions: Dict[int, float] = field(default_factory=dict)
    # the SDR repository's current reservation (Reserve SDR Repository), 0 before the first
    sdr_reservation: int = 0

    def active_sessions(self) -> int:
        horizon = time.monotonic() - SESSION_IDLE
        for key, seen in list(self.sessions.items()):
            if seen < horizon:
                del self.sessions[key]
        return len(self.sessions)


class _LabServerSession(pyghmi_serversession.ServerSession):
    """Server side of one client session, with the lab's protocol fixes."""

    bmc: "_LabBmc"

    def create_open_session_response(self, request: bytearray) -> bytearray:
        proposal = tuple(
            request[offset] if len(request) > offset else -1
            for offset in (_AUTH_ALGO_OFFSET, _INTEGRITY_ALGO_OFFSET, _CONFIDENTIALITY_ALGO_OFFSET)
        )
        response: bytearray = super().create_open_session_response(request)
        status = 0
        if proposal != _SUITE3:
            status = _RMCP_NO_CIPHER_MATCH
        elif self.bmc.spec.active_sessions() >= MAX_SESSIONS:
            status = _RMCP_INSUFFICIENT_RESOURCES
        if status:
            # keep tag and client session id, replace the status byte; an
            # error reply ends after the remote console session id
            response[1] = status
            return response[:8]
        return response

    def _send_rakp4(self, tagvalue: int, statuscode: int) -> None:
        super()._send_rakp4(tagvalue, statuscode)
        if statuscode == 0:
            self.bmc.spec.sessions[id(self)] = time.monotonic()

    def handle_client_request(self, request: Any) -> None:
        # pyghmi's server acknowledges Close Session before it frees the slot, so a
        # client that has its reply could still see its session in the table; free first
        if request["netfn"] == 6 and request["command"] == 0x3C:
            self.close_server_session()
            self.send_ipmi_response()
            return
        super().handle_client_request(request)

    def close_server_session(self) -> None:
        self.bmc.spec.sessions.pop(id(self), None)
        # forget the client's address too, as pyghmi's server keeps every session it ever saw
        handlers = pyghmi_session.Session.bmc_handlers.get(self.sockaddr)
        if isinstance(handlers, dict) and handlers.get(self.bmc.port) is self:
            del handlers[self.bmc.port]
            if not handlers:
                del pyghmi_session.Session.bmc_handlers[self.sockaddr]

    def _got_rakp1(self, data: Any) -> None:
        username = bytes(data[28:]).decode("utf-8", "replace") if len(data) > 28 else ""
        if data[27] and self.authdata.get(username) is None:
            reply = bytearray([data[0], _RMCP_UNAUTHORIZED_NAME, 0, 0]) + self.clientsessionid
            self.send_payload(reply, ipmi_constants.payload_types["rakp2"], retry=False)
            return
        super()._got_rakp1(data)

    def process_pktqueue(self) -> None:
        if self.bmc.spec.unreachable:
            self.pktqueue.clear()
            return
        if id(self) in self.bmc.spec.sessions:
            self.bmc.spec.sessions[id(self)] = time.monotonic()
        super().process_pktqueue()


class _LabBmc(pyghmi_bmc.Bmc):
    """One simulated BMC; the fleet owns its socket and its dispatcher."""

    def __init__(self, spec: _BmcSpec, address: str) -> None:
        self.spec = spec
        super().__init__(spec.authdata, port=spec.port, address=address)
        # Get Device ID: a chassis device with an SDR repository and sensors
        self.additionaldevices = 0x83

    # -- sensors and the SDR repository ------------------------------------------
    def handle_raw_request(self, request: Any, session: Any) -> None:
        netfn, command, data = request["netfn"], request["command"], list(request.get("data") or [])
        if netfn == _NETFN_STORAGE and command in (0x20, 0x22, 0x23):
            self._sdr_repository(command, data, session)
        elif netfn == _NETFN_SENSOR and command in (0x2D, 0x27):
            self._sensor(command, data, session)
        else:
            super().handle_raw_request(request, session)

    def _sdr_repository(self, command: int, data: List[int], session: Any) -> None:
        spec = self.spec
        if command == 0x20:  # Get SDR Repository Info: version, count, free space, timestamps, non-modal update + reserve
            session.send_ipmi_response(data=[0x51, len(SENSORS), 0x00, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x22])
        elif command == 0x22:  # Reserve SDR Repository
            spec.sdr_reservation = spec.sdr_reservation % 0xFFFF + 1
            session.send_ipmi_response(data=list(struct.pack("<H", spec.sdr_reservation)))
        elif len(data) < 6:  # Get SDR: reservation, record id, offset, bytes to read
            session.send_ipmi_response(code=0xC7)
        else:
            reservation, record_id = data[0] | data[1] << 8, data[2] | data[3] << 8
            offset, count = data[4], data[5]
            index = 0 if record_id == 0 else record_id - 1
            if offset and reservation != spec.sdr_reservation:
                session.send_ipmi_response(code=_CC_INVALID_RESERVATION)
            elif not 0 <= index < len(SENSORS):
                session.send_ipmi_response(code=_CC_NOT_PRESENT)
            else:
                record = SENSORS[index].record(index + 1)
                following = index + 2 if index + 1 < len(SENSORS) else _SDR_LAST
                chunk = record[offset:] if count == 0xFF else record[offset:offset + count]
                session.send_ipmi_response(data=list(struct.pack("<H", following)) + list(chunk))

    def _sensor(self, command: int, data: List[int], session: Any) -> None:
        sensor = next((s for s in SENSORS if data and s.number == data[0]), None)
        if sensor is None:
            session.send_ipmi_response(code=_CC_NOT_PRESENT)
            return
        if command == 0x27:  # Get Sensor Thresholds: none readable
            session.send_ipmi_response(data=[0x00, 0, 0, 0, 0, 0, 0])
            return
        try:
            on = self.spec.target.bmc_power_state()
            load = _load_of(self.spec.target)
        except Exception:  # the machine behind the BMC is gone
            session.send_ipmi_response(code=_CC_UNSPECIFIED)
            return
        # reading, event messages and scanning enabled, no threshold crossed
        session.send_ipmi_response(data=[sensor.raw(on, load), 0xC0, 0x00])

    # -- transport ---------------------------------------------------------
    def sessionless_data(self, data: Any, sockaddr: Any) -> None:
        if self.spec.unreachable:
            return
        raw = bytearray(data)
        if len(raw) >= 22 and raw[0] == 6 and raw[4] == 6 and raw[5] == _OPEN_SESSION_REQUEST:
            _LabServerSession(self.authdata, self.kg, sockaddr, self.serversocket, raw[16:], self.uuid, bmc=self)
            return
        super().sessionless_data(data, sockaddr)

    # -- power hooks (return value = IPMI completion code) -----------------
    def get_power_state(self) -> str:
        return "on" if self.spec.target.bmc_power_state() else "off"

    def _apply(self, action: str) -> int:
        if self.spec.stuck_power and action != "on":
            return _CC_OK  # acknowledged, relay never moves
        try:
            self.spec.target.bmc_power(action)
        except Exception:  # the host model refused: report it like a BMC would
            return _CC_NOT_IN_PRESENT_STATE
        return _CC_OK

    def power_on(self) -> int:
        return self._apply("on")

    def power_off(self) -> int:
        return self._apply("off")

    def power_cycle(self) -> int:
        return self._apply("cycle")

    def power_reset(self) -> int:
        return self._apply("reset")

    def power_shutdown(self) -> int:
        return self._apply("soft")

    def pulse_diag(self) -> int:
        return _CC_OK

    def get_chassis_status(self, session: Any) -> None:
        try:
            on = self.spec.target.bmc_power_state()
        except Exception:
            session.send_ipmi_response(code=_CC_UNSPECIFIED)
            return
        # current power state, last power event, misc chassis state, front panel
        session.send_ipmi_response(data=[0x01 if on else 0x00, 0x00, 0x00, 0x00])

    def get_system_guid(self) -> Any:
        return self.uuid

    def cold_reset(self) -> int:
        return _CC_OK


class _SignallingQueue(collections.deque):
    """pyghmi's session queue, waking the fleet's dispatcher on every packet its I/O thread queues.

    pyghmi's own event loop (``Session.wait_for_rsp``) waits with a timeout on each call and, with a
    short timeout, wakes its I/O thread each time, which then polls every socket of the fleet:
    a dispatcher looping on it costs about 20 % of a core for 500 BMCs while nothing happens.
    """

    def __init__(self, arrived: threading.Event) -> None:
        super().__init__()
        self.arrived = arrived

    def append(self, x: Any) -> None:
        super().append(x)
        self.arrived.set()


_ARRIVED = threading.Event()


def _send_without_blocking_flag(sock: Any, packet: Any, sockaddr: Any) -> None:
    """pyghmi's sendto, minus its ``setblocking(1)``.

    pyghmi's I/O thread sets a socket non-blocking and then reads it until it is empty; a send from the
    dispatcher thread switching the same socket back to blocking in between leaves that read waiting forever,
    and with it every BMC of the fleet.  UDP on loopback rarely refuses a datagram; a full buffer is retried.
    """
    raw = getattr(sock, "fd", sock)
    for unused_attempt in range(100):
        try:
            raw.sendto(packet, socket.MSG_DONTWAIT, sockaddr)
            return
        except BlockingIOError:
            time.sleep(0.001)
        except OSError:
            return


def _patch_pyghmi() -> None:
    """Event-driven dispatch (see _SignallingQueue) and sends that leave the socket's blocking flag alone."""
    pyghmi_session._io_sendto = _send_without_blocking_flag  # pylint: disable=protected-access
    queue = pyghmi_session.sessionqueue
    if isinstance(queue, _SignallingQueue):
        return
    replacement = _SignallingQueue(_ARRIVED)
    replacement.extend(queue)
    pyghmi_session.sessionqueue = replacement


def _ensure_wakeup_socket() -> None:
    """Give pyghmi's I/O loop a loopback wake-up socket before any server.

    pyghmi wakes its select() by sending to the first socket in its pool at
    the address it probed for itself; if that first socket is an IPv4 BMC
    socket the probe picks an IPv6 address it cannot reach.  A dedicated
    127.0.0.1 socket first in the pool keeps wake-ups on loopback.
    """
    if pyghmi_session.iosockets:
        return
    wake = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    wake.bind(("127.0.0.1", 0))
    pyghmi_session.myself = "127.0.0.1"
    pyghmi_session.ipv6support = False
    pyghmi_session.iosockets.append(wake)


def _wake_io_thread() -> None:
    """Make pyghmi's I/O thread return from select() and wait until it did.

    The thread selects on the socket list as it was when it last woke (for up to 300 s when idle): new sockets are
    only watched, and closed ones (with their ports) only released, once it goes round again.
    """
    if not pyghmi_session.iosockets:
        return
    wake = pyghmi_session.iosockets[0]
    before = pyghmi_session.selectdeadline
    try:
        wake.sendto(b"\x01", ("127.0.0.1", wake.getsockname()[1]))
    except OSError:
        return
    # the thread moves its deadline on as soon as select() returned
    deadline = time.monotonic() + 2.0
    while pyghmi_session.selectdeadline == before and time.monotonic() < deadline:
        time.sleep(0.001)


class BmcFleet:
    """Many simulated BMCs served from one process (see module docstring)."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.address = address
        self._specs: Dict[str, _BmcSpec] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # -- configuration -------------------------------------------------------
    def add(self, name: str, port: int, username: str, password: str, target: PowerTarget) -> None:
        with self._lock:
            if name in self._specs:
                raise ValueError(f"BMC {name!r} already added")
            if any(spec.port == port for spec in self._specs.values()):
                raise ValueError(f"port {port} already used by another BMC")
            spec = _BmcSpec(name, port, username, password, target, authdata={username: password})
            self._specs[name] = spec
            if self._thread is not None:
                self._bind(spec)
                _wake_io_thread()

    def names(self) -> List[str]:
        return list(self._specs)

    # -- faults --------------------------------------------------------------
    def set_unreachable(self, name: str, flag: bool) -> None:
        self._spec(name).unreachable = flag

    def set_password(self, name: str, password: str) -> None:
        spec = self._spec(name)
        spec.password = password
        spec.authdata[spec.username] = password

    def set_stuck_power(self, name: str, flag: bool) -> None:
        self._spec(name).stuck_power = flag

    def active_sessions(self, name: str) -> int:
        """Sessions established and neither closed nor idle for SESSION_IDLE seconds."""
        return self._spec(name).active_sessions()

    def reset_sessions(self, name: str) -> None:
        """Forget every session (as a BMC cold reset would)."""
        self._spec(name).sessions.clear()

    def _spec(self, name: str) -> _BmcSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise KeyError(f"no BMC named {name!r}") from None

    # -- lifecycle -------------------------------------------------------------
    def start(self, ready_timeout: float = 10.0) -> None:
        """Bind every BMC, start the dispatcher; return once each one answers."""
        if self._thread is not None:
            return
        _ensure_wakeup_socket()
        _patch_pyghmi()
        with self._lock:
            for spec in self._specs.values():
                self._bind(spec)
        # pyghmi's I/O thread selects on the sockets it knew when it last woke: make it see the new ones
        _wake_io_thread()
        self._stop.clear()
        self._thread = threading.Thread(target=self._dispatch, name="lab-bmc-dispatch", daemon=True)
        self._thread.start()
        self._wait_ready(ready_timeout)

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        _ARRIVED.set()
        self._thread.join(timeout=5)
        self._thread = None
        with self._lock:
            for spec in self._specs.values():
                self._unbind(spec)
        _wake_io_thread()

    def _bind(self, spec: _BmcSpec) -> None:
        spec.server = _LabBmc(spec, self.address)

    @staticmethod
    def _unbind(spec: _BmcSpec) -> None:
        server = spec.server
        if server is None:
            return
        sock = server.serversocket
        pyghmi_session.Session.bmc_handlers.pop(sock, None)
        for handlers in list(pyghmi_session.Session.bmc_handlers.values()):
            if isinstance(handlers, dict):
                for key, handler in list(handlers.items()):
                    if getattr(handler, "bmc", None) is server:
                        del handlers[key]
        try:
            pyghmi_session.iosockets.remove(sock)
        except ValueError:
            pass
        sock.close()
        spec.server = None

    def _dispatch(self) -> None:
        """Run the protocol handlers of every session that pyghmi's I/O thread queued a packet for.

        Clearing the event before draining the queue means a packet queued at any moment either is
        drained now or sets the event for the next round: no wake-up is lost.
        """
        while not self._stop.is_set():
            _ARRIVED.wait(_DISPATCH_IDLE)
            _ARRIVED.clear()
            queue = pyghmi_session.sessionqueue
            for unused_round in range(10000):  # bounded; a queue this long means a flood, the next round goes on
                try:
                    session = queue.popleft()
                except IndexError:
                    break
                try:
                    session.process_pktqueue()
                except Exception:  # one bad packet must not stop every BMC
                    time.sleep(0.01)
            if queue:
                _ARRIVED.set()

    def _wait_ready(self, timeout: float) -> None:
        """Probe each port with Get Channel Authentication Capabilities."""
        deadline = time.monotonic() + timeout
        pending = [spec for spec in self._specs.values() if not spec.unreachable]
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind(("127.0.0.1", 0))
            probe.settimeout(0.2)
            while pending and time.monotonic() < deadline:
                spec = pending[0]
                probe.sendto(_auth_cap_request(), (self.address, spec.port))
                try:
                    probe.recvfrom(512)
                except socket.timeout:
                    continue
                pending.pop(0)
        finally:
            probe.close()
        if pending:
            raise RuntimeError("BMCs did not answer: " + ", ".join(spec.name for spec in pending))


def _auth_cap_request() -> bytes:
    """An IPMI 1.5 sessionless Get Channel Authentication Capabilities request."""
    rmcp = bytes([0x06, 0x00, 0xFF, 0x07])
    session = bytes([0x00]) + struct.pack("<II", 0, 0)
    header = bytes([0x20, 0x18])  # BMC slave address, netfn app (6) << 2
    body = bytes([0x81, 0x00, 0x38, 0x8E, 0x04])  # rq addr, seq, cmd, channel+v2, priv
    checksum1 = (-sum(header)) & 0xFF
    checksum2 = (-sum(body)) & 0xFF
    message = header + bytes([checksum1]) + body + bytes([checksum2])
    return rmcp + session + bytes([len(message)]) + message
