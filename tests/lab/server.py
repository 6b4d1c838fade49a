"""The lab server process: model, engine, BMCs, hosted-engine agents, listeners and the clock thread."""

from __future__ import annotations

import functools
import os
import re
import secrets
import socket
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

from tests.lab import actors, builder
from tests.lab.admin import Admin
from tests.lab.api_common import Stats
from tests.lab.api_routes import Api
from tests.lab.api_server import AdminHandler, EngineHandler, HostHandler
from tests.lab.api_xml import API, Renderer
from tests.lab.clock import Clock
from tests.lab.engine import Engine
from tests.lab.engine_fence import Fencer
from tests.lab.engine_ha import HaMonitor
from tests.lab.faults import Faults
from tests.lab.fencing import PowerAgentRunner
from tests.lab.he_metadata import MetadataVolume
from tests.lab.he_tool import HostedEngineTool
from tests.lab.hosted_engine_agents import HostedEngineAgents
from tests.lab.http_server import Listener, UnixListener
from tests.lab.journal import Journal
from tests.lab.model import Event, Model
from tests.lab.power import HostPower, apply_power
from tests.lab.sso import Sso
from tests.lab.tls import make_certificates, server_context
from tests.lab.truth import Truth

try:
    from tests.lab.bmc import BmcFleet
except ImportError:  # the BMC simulator is optional: without it fencing switches the model's power directly
    BmcFleet = None  # type: ignore[assignment,misc]

TICK_REAL_SECONDS = 0.2
MAX_STEP_TICKS = 200000


@dataclass
class LabOptions:
    state_dir: str
    hosts: int = 3
    vms: int = 10
    hosted_engine: bool = False
    clock: str = "real"
    time_scale: float = 1.0
    engine_uptime: float = 0.0
    bmcs: bool = True
    # a layout file (YAML or JSON, see builder.py); without it the counts above make one
    layout: Optional[str] = None


def free_udp_ports(count: int) -> list[int]:
    socks = []
    try:
        for _index in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


class LabServer:
    def __init__(self, options: LabOptions) -> None:
        self.options = options
        self.clock = Clock(options.clock, options.time_scale)
        self.model = Model()
        self.model.password = secrets.token_urlsafe(16)
        self.journal = Journal()
        self.model.on_event = self._journal_event
        self.truth = Truth(self.model, self.clock, self.journal)
        self.engine = Engine(self.model, self.clock, self.truth)
        self.runner = PowerAgentRunner(direct=self._direct_power)
        self.fencer = Fencer(self.engine, self.runner)
        self.ha = HaMonitor(self.engine, self.fencer)
        self.renderer = Renderer(self.model, self.clock)
        self.api = Api(self.engine, self.fencer, self.renderer, self.after_action)
        self.sso = Sso(self.model.username, self.model.password)
        self.stats = Stats()
        self.faults = Faults(self.engine)
        self.admin_api = Admin(self)
        self.agents: Optional[HostedEngineAgents] = None
        self.bmcs: Any = None
        self.listeners: list[Listener] = []
        self.admin_listener: Optional[Listener] = None
        self.host_listeners: list[UnixListener] = []
        self.stop_event = threading.Event()
        self.tick_thread: Optional[threading.Thread] = None
        self.step_lock = threading.Lock()
        self.credentials: dict[str, builder.BmcCredentials] = {}
        self.info: dict[str, Any] = {}
        self.cache_warm = False

    # -- start / stop ------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        options = self.options
        os.makedirs(options.state_dir, mode=0o700, exist_ok=True)
        ca_path, cert_path, key_path = make_certificates(options.state_dir)
        layout = builder.load(options.layout) if options.layout else builder.generated_layout(options.hosts, options.vms,
                                                                                              options.hosted_engine)
        ports = free_udp_ports(len(layout["hosts"]))
        with self.model.lock:
            self.credentials = builder.build(self.model, layout, ports)
            self.model.engine_started_at = -float(layout.get("engine_uptime", options.engine_uptime))
            self.engine.features.update(layout.get("engine_ha", {}))
            self.engine.timing.update(layout.get("engine_timing", {}))
            self.truth.adopt_running(0.0)
            # an engine's audit log is never empty (clients read the newest event before they act): its hosts came up
            for host in self.model.hosts.values():
                self.engine.event(13, "normal", f"Status of host {host.name} was set to Up.", host)
        self.faults.bmc_passwords = {name: c.password for name, c in self.credentials.items()}
        if layout.get("hosted_engine"):
            sd = next(s for s in self.model.storage_domains.values() if s.hosted_engine)
            path = os.path.join(options.state_dir, "hosted_storage", sd.id, "ha_agent", "hosted-engine.metadata")
            self.agents = HostedEngineAgents(self.engine, MetadataVolume(path))
            self.faults.agents = self.agents
            with self.model.lock:
                self.agents.warm_up()
        if options.bmcs and BmcFleet is not None:
            self.bmcs = BmcFleet("127.0.0.1")
            for host in self.model.hosts.values():
                if host.name not in self.credentials:
                    continue
                creds = self.credentials[host.name]
                self.bmcs.add(host.name, creds.port, creds.username, creds.password, HostPower(self.model, self.clock, self.truth, host.id))
            self.bmcs.start()
            self.faults.bmcs = self.bmcs
        else:
            self.runner.use_ipmitool = False
        # serialize every object once before answering: the first big list is then as fast as the next ones
        self._warm_cache()
        context = server_context(cert_path, key_path)
        self.listeners = [Listener(EngineHandler, self, context=context), Listener(EngineHandler, self)]
        self.admin_listener = Listener(AdminHandler, self)
        for listener in [*self.listeners, self.admin_listener]:
            listener.start()
        if self.agents is not None:
            for host in self.agents.he_hosts():
                # one socket per host, in a directory of its own that a container bind-mounts at /run/ovirt-ha-lab
                path = os.path.join(self.options.state_dir, "hosts", host.name, "lab.sock")
                self.host_listeners.append(UnixListener(HostHandler, self, path, host.name))
                self.host_listeners[-1].start()
        self.tick()
        self.tick_thread = threading.Thread(target=self._run_clock, daemon=True, name="lab-clock")
        self.tick_thread.start()

        self.info = self.describe(ca_path)
        return self.info

    def _warm_cache(self) -> None:
        """Serialize every VM and host once (cached XML, dropped again whenever an object changes)."""
        with self.model.lock:
            vms = list(self.model.vms.values())
            hosts = list(self.model.hosts.values())
        for index, vm in enumerate(vms):
            if self.stop_event.is_set():
                return
            with self.model.lock:
                self.renderer.write_one(vm, functools.partial(self.renderer.vm, vm), "plain")
            if index % 200 == 199:
                self.stop_event.wait(0.001)
        with self.model.lock:
            used: dict[str, int] = {}
            for vm in vms:
                if vm.host_id and vm.status != "down":
                    used[vm.host_id] = used.get(vm.host_id, 0) + vm.memory
        for host in hosts:
            with self.model.lock:
                memory = used.get(host.id, 0)
                self.renderer.write_one(host, functools.partial(self.renderer.host, host, used=memory), ("plain", memory))
        self.cache_warm = True

    def describe(self, ca_path: str) -> dict[str, Any]:
        https, http = self.listeners
        assert self.admin_listener is not None
        hosts = []
        for host in self.model.hosts.values():
            creds = self.credentials.get(host.name)
            bmc = {"address": "127.0.0.1", "port": creds.port, "username": creds.username, "password": creds.password} if creds else None
            hosts.append({"name": host.name, "id": host.id, "address": host.address, "cluster": self.model.clusters[host.cluster_id].name,
                          "bmc": bmc})
        he = None
        if self.agents is not None:
            vm = self.model.he_vm()
            he = {"metadata_volume": self.agents.volume.path, "vm_id": vm.id if vm else None, "vm_name": vm.name if vm else None,
                  "storage_domain_id": next(s.id for s in self.model.storage_domains.values() if s.hosted_engine),
                  "hosts": [{"name": h.name, "host_id": h.he_host_id, "address": h.address,
                             "socket_dir": os.path.join(self.options.state_dir, "hosts", h.name)} for h in self.agents.he_hosts()]}
        return {
            "engine": {"url": f"https://127.0.0.1:{https.port}{API}", "http_url": f"http://127.0.0.1:{http.port}{API}", "ca_file": ca_path,
                       "username": self.model.username, "password": self.model.password},
            "admin_url": f"http://127.0.0.1:{self.admin_listener.port}/lab", "pid": os.getpid(), "hosts": hosts, "hosted_engine": he,
            "clock": {"mode": self.clock.mode, "scale": self.clock.scale}, "bmcs": self.bmcs is not None,
            "ports": {"https": https.port, "http": http.port, "admin": self.admin_listener.port,
                      "bmc": [c.port for c in self.credentials.values()]}, "layout": self.options.layout,
        }

    def stop(self) -> None:
        self.stop_event.set()
        if self.tick_thread is not None:
            self.tick_thread.join(timeout=5)
        for listener in [*self.listeners, *([self.admin_listener] if self.admin_listener else [])]:
            listener.stop()
        for unix in self.host_listeners:
            unix.stop()
        if self.bmcs is not None:
            self.bmcs.stop()

    # -- clock -------------------------------------------------------------------
    def _run_clock(self) -> None:
        while not self.stop_event.wait(TICK_REAL_SECONDS):
            if not self.clock.virtual:
                with self.step_lock:
                    self.tick()

    def tick(self) -> None:
        with self.model.lock:
            self.faults.tick()
            self.truth.tick()
            jobs = self.ha.tick()
            if self.agents is not None:
                self.agents.tick()
            self.truth.check(self.clock.now())
        self.run_jobs(jobs)
        self.sync_listeners()

    def _journal_event(self, event: Event) -> None:
        host = self.model.hosts.get(event.host_id) if event.host_id else None
        vm = self.model.vms.get(event.vm_id) if event.vm_id else None
        about = vm.name if vm else (host.name if host else "-")
        text = event.description
        if event.origin != "oVirt":
            # an external event: its origin, and its text without a trailing machine-readable [tag ...]
            text = re.sub(r"\s*\[[^\]]*\]\s*$", "", text)
            text = text if text.startswith(event.origin) else f"({event.origin}) {text}"
        self.journal.add(event.time, "event", f"{event.code} {about}: {text}")

    def run_jobs(self, jobs: list[Callable[[], None]]) -> None:
        if not jobs:
            return
        if self.clock.virtual:
            for job in jobs:
                job()
            return
        for job in jobs:
            threading.Thread(target=job, daemon=True, name="lab-fence").start()

    def step(self, seconds: float) -> float:
        """Advance lab time in 1 s ticks; returns the new lab time."""
        with self.step_lock:
            remaining = float(seconds)
            ticks = 0
            while remaining > 0 and ticks < MAX_STEP_TICKS:
                delta = min(1.0, remaining)
                self.clock.advance(delta)
                remaining -= delta
                ticks += 1
                self.tick()
            return self.clock.now()

    def after_action(self) -> None:
        if self.clock.virtual:
            with self.step_lock:
                self.tick()

    # -- engine availability -------------------------------------------------------
    def api_available(self) -> bool:
        return self.model.engine_up and not self.faults.api.down

    def sync_listeners(self) -> None:
        available = self.api_available()
        for listener in self.listeners:
            if available and not listener.running:
                listener.start()
            elif not available and listener.running:
                listener.stop()

    def _direct_power(self, host_id: str, action: str) -> str:
        with self.model.lock:
            host = self.model.hosts[host_id]
            if host.name in self.faults.dead_bmcs:
                return "Error: Unable to establish IPMI v2 / RMCP+ session"
            if action == "status":
                return "on" if host.power_on else "off"
            actor = self.truth.power_intent.get(host.id) or actors.current()
            return apply_power(host, action, self.clock.now(), self.truth, actor)

    # -- admin ---------------------------------------------------------------------
    def admin(self, method: str, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        return self.admin_api.handle(method, path, payload)

    def host_request(self, host_name: str, method: str, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """A request on a hosted-engine host's own socket: ``POST /tool {argv}`` (the hosted-engine command),
        ``POST /service {unit, action}`` (systemctl on ovirt-ha-agent / ovirt-ha-broker)."""
        if self.agents is None or method != "POST" or path not in ("/tool", "/service"):
            return 404, {"error": f"no host route {method} {path}"}
        with self.model.lock:
            host = self.model.find_host(host_name)
            if host is None:
                return 404, {"error": f"no host {host_name}"}
            tool = HostedEngineTool(self.agents, host)
            if path == "/tool":
                argv = payload["argv"]
                if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
                    raise ValueError("argv: expected a list of strings")
                code, out, err = tool.run(argv)
            else:
                code, out, err = tool.service(str(payload["unit"]), str(payload["action"]))
            self.truth.check(self.clock.now())
        return 200, {"rc": code, "stdout": out, "stderr": err}
