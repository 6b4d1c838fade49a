#!/usr/bin/env python
"""Lab stand-in for ovirt-ha-broker and ovirt-ha-agent.

Runs inside the molecule containers (Python 3.9+, standard library only). It reads
the files the hosted_engine_ha role wrote, exactly where the real services read
them, and publishes this host's slot in the shared metadata volume in the format
of ovirt-hosted-engine-ha 2.x (see shared/reference/FORMATS.md), encoded by the lab's
metadata module (tests/lab/he_metadata.py, installed next to this file). It does not run
a VM, hold sanlock leases or talk to vdsm: it exists so that the role's service,
handler and verify phases have something real to start, restart and observe.

    ha_agent.py broker   listen on the broker socket, write slots to the volume
    ha_agent.py agent    compute the score every few seconds, hand the block to
                         the broker (as the real agent does through the broker)
    ha_agent.py write-slot VOLUME HOST_ID TIMESTAMP SCORE HOSTNAME STATE
                         write one host block (a foreign host, for tests)

Environment for tests: HA_STANDIN_ROOT prefixes every absolute path (default "/"),
HA_STANDIN_INTERVAL sets the agent loop in seconds (default 5).
"""
from __future__ import annotations

import base64
import configparser
import os
import signal
import socket
import sys
import time
from typing import Dict, List, Optional, Tuple

try:  # installed side by side in the containers
    import he_metadata
except ImportError:  # run from the repository: tests/lab/he_metadata.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import he_metadata

SLOT_SIZE = 4096
MAX_HOST_ID = 2000

HE_CONF = "/etc/ovirt-hosted-engine/hosted-engine.conf"
AGENT_CONF = "/etc/ovirt-hosted-engine-ha/agent.conf"
HA_CONF = "/var/lib/ovirt-hosted-engine-ha/ha.conf"
BROKER_SOCKET = "/var/run/ovirt-hosted-engine-ha/broker.socket"
MNT_ROOT = "/rhev/data-center/mnt"

# ovirt-hosted-engine-ha 2.x defaults of the [score] section.
SCORE_DEFAULTS = {
    "base-score": 3400.0,
    "network-score-penalty": 1600.0,
    "not-uptodate-config-penalty": 1000.0,
    "mgmt-bridge-score-penalty": 600.0,
    "free-memory-score-penalty": 400.0,
    "cpu-load-score-penalty": 1000.0,
    "engine-retry-score-penalty": 50.0,
    "cpu-load-penalty-min": 0.4,
    "cpu-load-penalty-max": 0.9,
}

ENGINE_DOWN = {"vm": "down", "health": "bad", "detail": "unknown",
               "reason": "vm not running on this host"}


def log(role: str, message: str) -> None:
    # stdout goes to the journal under the unit's name; flush so ordering is kept.
    print("ovirt-ha-%s[%d]: %s" % (role, os.getpid(), message), flush=True)


def host_path(path: str) -> str:
    root = os.environ.get("HA_STANDIN_ROOT", "/")
    return os.path.join(root, path.lstrip("/"))


# --------------------------------------------------------------------------- files

def read_kv_file(path: str) -> Dict[str, str]:
    """key=value lines; surrounding matching quotes dropped (bash would drop them)."""
    values: Dict[str, str] = {}
    with open(host_path(path), encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _sep, value = line.partition("=")
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key.strip()] = value
    return values


def transform_remote_path(remote: str) -> str:
    """vdsm's mount directory name for a remote path: '_' doubled, then '/' -> '_'."""
    return remote.replace("_", "__").replace("/", "_")


def metadata_path(conf: Dict[str, str]) -> str:
    """Path of the metadata volume as the host sees it under /rhev/data-center/mnt."""
    sd_uuid = conf["sdUUID"]
    image = conf["metadata_image_UUID"]
    volume = conf["metadata_volume_UUID"]
    domain_type = conf.get("domainType", "nfs")
    if domain_type in ("iscsi", "fc"):
        domain_dir = os.path.join(MNT_ROOT, "blockSD", sd_uuid)
    elif domain_type == "glusterfs":
        domain_dir = os.path.join(MNT_ROOT, "glusterSD", transform_remote_path(conf["storage"]), sd_uuid)
    else:
        domain_dir = os.path.join(MNT_ROOT, transform_remote_path(conf["storage"]), sd_uuid)
    return os.path.join(domain_dir, "images", image, volume)


def read_score_weights(path: str = AGENT_CONF) -> Dict[str, float]:
    weights = dict(SCORE_DEFAULTS)
    parser = configparser.ConfigParser()
    if parser.read(host_path(path)) and parser.has_section("score"):
        for key in weights:
            if parser.has_option("score", key):
                weights[key] = float(parser.get("score", key))
    return weights


def local_maintenance() -> bool:
    try:
        values = read_kv_file(HA_CONF)
    except OSError:
        return False
    return values.get("local_maintenance", "False").lower() == "true"


def vm_mem_size_mb(conf: Dict[str, str]) -> Optional[int]:
    try:
        values = read_kv_file(conf.get("conf", "/var/run/ovirt-hosted-engine-ha/vm.conf"))
        return int(values["memSize"])
    except (OSError, KeyError, ValueError):
        return None


# --------------------------------------------------------------------------- score

def measure() -> Dict[str, float]:
    """What the host looks like now: load per CPU and available memory."""
    load = os.getloadavg()[0] / max(os.cpu_count() or 1, 1)
    mem_available_mb = 0.0
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                mem_available_mb = int(line.split()[1]) / 1024.0
    return {"cpu_load": load, "mem_available_mb": mem_available_mb}


def compute_score(weights: Dict[str, float], conf: Dict[str, str], measured: Dict[str, float],
                  global_maintenance: bool, local_maint: bool) -> Tuple[int, List[str]]:
    """The agent's score rules for the monitors the lab can observe.

    Returns the score and the penalties applied (for the log)."""
    if local_maint:
        return 0, ["local maintenance"]
    score = weights["base-score"]
    applied: List[str] = []
    # Network test: the lab runs with network_test=none; other kinds are not probed here.
    bridge = conf.get("bridge", "ovirtmgmt")
    if bridge and not os.path.exists(os.path.join("/sys/class/net", bridge)):
        score -= weights["mgmt-bridge-score-penalty"]
        applied.append("management bridge %s missing" % bridge)
    low, high = weights["cpu-load-penalty-min"], weights["cpu-load-penalty-max"]
    load = measured["cpu_load"]
    if load > low and high > low:
        fraction = min((load - low) / (high - low), 1.0)
        penalty = int(fraction * weights["cpu-load-score-penalty"])
        if penalty:
            score -= penalty
            applied.append("cpu load %.2f" % load)
    mem_needed = vm_mem_size_mb(conf)
    if not global_maintenance and mem_needed is not None and measured["mem_available_mb"] < mem_needed:
        score -= weights["free-memory-score-penalty"]
        applied.append("free memory %d MB below %d MB" % (measured["mem_available_mb"], mem_needed))
    return max(int(score), 0), applied


# --------------------------------------------------------------------------- metadata

def encode_host_block(host_id: int, timestamp: int, score: int, engine_status: Dict[str, str],
                      hostname: str, local_maint: bool, stopped: bool, state: str,
                      conf_on_shared_storage: bool = True, local_conf_timestamp: int = 0) -> bytes:
    """One 4096-byte host slot, encoded by the lab's own metadata encoder (tests/lab/he_metadata.py)."""
    now = time.time()
    return he_metadata.encode_slot(he_metadata.HostSlot(
        host_id=host_id, timestamp=timestamp, score=score, engine_status=dict(engine_status),
        hostname=hostname, local_maintenance=local_maint, stopped=stopped,
        conf_on_shared_storage=conf_on_shared_storage, local_conf_timestamp=local_conf_timestamp,
        state=state, wall_time=now, conf_wall_time=now - (timestamp - local_conf_timestamp)))


def read_global_maintenance(path: str) -> bool:
    with open(path, "rb") as handle:
        block = handle.read(SLOT_SIZE)
    return block.rstrip(b"\0").strip() == b"maintenance=1"


def write_slot(path: str, host_id: int, block: bytes) -> None:
    if not 1 <= host_id <= MAX_HOST_ID or len(block) != SLOT_SIZE:
        raise ValueError("refusing to write slot %d (%d bytes)" % (host_id, len(block)))
    fd = os.open(path, os.O_WRONLY)  # never create or truncate the shared volume
    try:
        os.pwrite(fd, block, host_id * SLOT_SIZE)
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- services

class Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signum)


def run_broker() -> int:
    """Own the metadata volume; serve 'put-stats' and 'get-global' on a unix socket."""
    conf = read_kv_file(HE_CONF)
    volume = host_path(metadata_path(conf))
    log("broker", "started; hosted-engine.conf host_id=%s metadata volume %s" % (conf.get("host_id"), volume))
    if not os.path.exists(volume):
        log("broker", "metadata volume %s not found (storage not connected)" % volume)
        return 1
    sock_path = host_path(BROKER_SOCKET)
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(4)
    signal.signal(signal.SIGTERM, _raise_stop)
    log("broker", "listening on %s" % sock_path)
    sd_notify("READY=1")
    try:
        while True:
            connection = server.accept()[0]
            with connection:
                try:
                    _serve(connection, volume)
                except OSError as exc:  # a client that went away (an agent stopping) is not the broker's end
                    log("broker", "request not answered: %s" % exc)
    except Stop:
        log("broker", "stopping")
    finally:
        server.close()
        if os.path.exists(sock_path):
            os.unlink(sock_path)
    return 0


def _serve(connection: socket.socket, volume: str) -> None:
    connection.settimeout(10)
    request = b""
    while not request.endswith(b"\n") and len(request) < 3 * SLOT_SIZE:
        chunk = connection.recv(8192)
        if not chunk:
            break
        request += chunk
    connection.sendall(_broker_answer(volume, request.decode("ascii", "replace").split()))


def _broker_answer(volume: str, words: List[str]) -> bytes:
    try:
        if words[:1] == ["get-global"]:
            return b"maintenance=%d\n" % read_global_maintenance(volume)
        if words[:1] == ["put-stats"] and len(words) == 3:
            write_slot(volume, int(words[1]), base64.b64decode(words[2]))
            return b"ok\n"
        return b"error unknown request\n"
    except (OSError, ValueError) as exc:
        return ("error %s\n" % exc).encode("ascii", "replace")


def sd_notify(state: str) -> None:
    """Tell systemd (Type=notify) that the broker listens, so the agent unit starts after that."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.connect(address)
        notify.sendall(state.encode("ascii"))


def broker_call(request: str, timeout: float = 5.0) -> str:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    try:
        client.connect(host_path(BROKER_SOCKET))
        client.sendall(request.encode("ascii") + b"\n")
        return client.recv(4096).decode("ascii", "replace").strip()
    finally:
        client.close()


def run_agent() -> int:
    conf = read_kv_file(HE_CONF)
    host_id = int(conf["host_id"])
    weights = read_score_weights()
    interval = float(os.environ.get("HA_STANDIN_INTERVAL", "5"))
    hostname = socket.gethostname()
    conf_timestamp = int(time.monotonic())
    log("agent", "started; host_id=%d hostname=%s base-score=%d" % (host_id, hostname, weights["base-score"]))
    signal.signal(signal.SIGTERM, _raise_stop)
    failures = 0
    last_penalties: Optional[List[str]] = None
    try:
        while True:
            try:
                global_maint = broker_call("get-global") == "maintenance=1"
                local_maint = local_maintenance()
                score, penalties = compute_score(weights, conf, measure(), global_maint, local_maint)
                if penalties != last_penalties:
                    log("agent", "score %d (%s)" % (score, "; ".join(penalties) or "no penalty"))
                    last_penalties = penalties
                state = "LocalMaintenance" if local_maint else ("GlobalMaintenance" if global_maint else "EngineDown")
                _publish(host_id, score, hostname, local_maint, False, state, conf_timestamp)
                failures = 0
            except (OSError, ValueError) as exc:
                failures += 1
                log("agent", "cannot publish through the broker (%d): %s" % (failures, exc))
                if failures >= 12:
                    return 1
            time.sleep(interval)
    except Stop:
        log("agent", "stopping")
        try:
            _publish(host_id, 0, hostname, local_maintenance(), True, "AgentStopped", conf_timestamp)
        except (OSError, ValueError) as exc:
            log("agent", "could not mark the slot stopped: %s" % exc)
    return 0


def _publish(host_id: int, score: int, hostname: str, local_maint: bool, stopped: bool, state: str,
             conf_timestamp: int) -> None:
    block = encode_host_block(host_id, int(time.monotonic()), score, ENGINE_DOWN, hostname,
                              local_maint, stopped, state, True, conf_timestamp)
    answer = broker_call("put-stats %d %s" % (host_id, base64.b64encode(block).decode("ascii")))
    if answer != "ok":
        raise ValueError("broker answered %r" % answer)


def main(argv: List[str]) -> int:
    if argv[1:2] == ["broker"]:
        return run_broker()
    if argv[1:2] == ["agent"]:
        return run_agent()
    if argv[1:2] == ["write-slot"] and len(argv) == 8:
        # write-slot VOLUME HOST_ID TIMESTAMP SCORE HOSTNAME STATE: publish a block as another agent would
        block = encode_host_block(int(argv[3]), int(argv[4]), int(argv[5]), ENGINE_DOWN, argv[6],
                                  False, False, argv[7])
        write_slot(argv[2], int(argv[3]), block)
        return 0
    if argv[1:2] == ["metadata-path"]:
        print(metadata_path(read_kv_file(argv[2] if len(argv) > 2 else HE_CONF)))
        return 0
    sys.stderr.write("usage: ha_agent.py broker | agent | metadata-path [CONF] |"
                     " write-slot VOLUME HOST_ID TIMESTAMP SCORE HOSTNAME STATE\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
