"""The lab's stand-in ovirt-ha-broker/ovirt-ha-agent (tests/lab/standin/ha_agent.py).

What it publishes must be read by the collection's own metadata parser as a real agent's slot.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.metadata import (
    parse_host_slot,
    read_volume,
)

REPO = Path(__file__).resolve().parents[3]
STANDIN = REPO / "tests" / "lab" / "standin" / "ha_agent.py"
REFERENCE = REPO / "tests" / "unit" / "fixtures" / "reference"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ha_agent_standin", STANDIN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


agent = _load()


def test_mount_directory_follows_vdsm() -> None:
    assert agent.transform_remote_path("nfs.example.com:/exports/hosted_engine") == \
        "nfs.example.com:_exports_hosted__engine"


@pytest.mark.parametrize("domain_type, prefix", [
    ("nfs", "/rhev/data-center/mnt/nfs.example.com:_exports_hosted__engine/"),
    ("glusterfs", "/rhev/data-center/mnt/glusterSD/nfs.example.com:_exports_hosted__engine/"),
    ("iscsi", "/rhev/data-center/mnt/blockSD/"),
])
def test_metadata_path_from_hosted_engine_conf(domain_type: str, prefix: str) -> None:
    conf = agent.read_kv_file(str(REFERENCE / "hosted-engine.conf"))
    conf["domainType"] = domain_type
    path = agent.metadata_path(conf)
    assert path == prefix + ("2164faa8-b18b-4036-b686-5a6eec95081b/images/5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a/"
                             "3c0d9f8e-2b1a-4c6d-8e7f-a9b8c7d6e5f4")


def test_block_is_a_valid_agent_slot() -> None:
    block = agent.encode_host_block(7, 1234, 2800, agent.ENGINE_DOWN, "he-host7", False, False, "EngineDown",
                                    True, 1200)
    assert len(block) == 4096
    parsed, problems = parse_host_slot(7, block)
    assert problems == []
    assert parsed is not None
    assert (parsed.host_id, parsed.timestamp, parsed.score, parsed.hostname) == (7, 1234, 2800, "he-host7")
    assert parsed.field_count == 12
    assert parsed.engine_status == agent.ENGINE_DOWN
    assert "state=EngineDown" in parsed.extra


def test_score_uses_agent_conf_weights(tmp_path: Path) -> None:
    conf_file = tmp_path / "agent.conf"
    conf_file.write_text("[score]\nbase-score=3000\nmgmt-bridge-score-penalty=500\n")
    weights = agent.read_score_weights(str(conf_file))
    conf = {"bridge": "no-such-bridge-here"}
    idle = {"cpu_load": 0.1, "mem_available_mb": 100000.0}
    assert agent.compute_score(weights, conf, idle, False, False)[0] == 2500
    busy = {"cpu_load": 0.65, "mem_available_mb": 100000.0}  # half-way between 0.4 and 0.9
    assert agent.compute_score(weights, conf, busy, False, False)[0] == 2000
    assert agent.compute_score(weights, conf, idle, False, True) == (0, ["local maintenance"])


def test_broker_and_agent_publish_the_slot() -> None:
    # a short root: the broker's socket path must fit AF_UNIX's 108 bytes (pytest's tmp_path under xdist may not)
    with tempfile.TemporaryDirectory(prefix="ha-", dir="/tmp") as short:
        _broker_and_agent_publish_the_slot(Path(short))


def _broker_and_agent_publish_the_slot(root: Path) -> None:
    he_conf = (REFERENCE / "hosted-engine.conf").read_text().replace("host_id=1", "host_id=4")
    (root / "etc/ovirt-hosted-engine").mkdir(parents=True)
    (root / "etc/ovirt-hosted-engine/hosted-engine.conf").write_text(he_conf)
    (root / "var/run/ovirt-hosted-engine-ha").mkdir(parents=True)
    volume = root / agent.metadata_path(agent.read_kv_file(str(root / "etc/ovirt-hosted-engine/hosted-engine.conf"))).lstrip("/")
    volume.parent.mkdir(parents=True)
    shutil.copy(REFERENCE / "hosted-engine.metadata", volume)
    os.chmod(volume, 0o644)
    with open(volume, "r+b") as handle:
        handle.truncate(2001 * 4096)
    env = dict(os.environ, HA_STANDIN_ROOT=str(root), HA_STANDIN_INTERVAL="0.2")
    broker = subprocess.Popen([sys.executable, str(STANDIN), "broker"], env=env, stdout=subprocess.PIPE, text=True)
    agent_proc = None
    try:
        deadline = time.monotonic() + 10
        while not (root / "var/run/ovirt-hosted-engine-ha/broker.socket").exists():
            assert time.monotonic() < deadline and broker.poll() is None
            time.sleep(0.05)
        agent_proc = subprocess.Popen([sys.executable, str(STANDIN), "agent"], env=env, stdout=subprocess.PIPE,
                                      text=True)
        while 4 not in read_volume(str(volume), 10).hosts:
            assert time.monotonic() < deadline and agent_proc.poll() is None
            time.sleep(0.05)
        status = read_volume(str(volume), 10)
        assert status.problems == []
        assert sorted(status.hosts) == [1, 2, 4]  # the other hosts' slots are untouched
        assert status.hosts[4].score > 0 and not status.hosts[4].stopped
        assert status.global_block is not None and status.global_block.maintenance  # reference volume: on
        assert "state=GlobalMaintenance" in status.hosts[4].extra
    finally:
        outputs = []
        for proc in (agent_proc, broker):
            if proc is not None:
                proc.terminate()
                outputs.append(proc.communicate(timeout=10)[0])
    # A clean stop marks the slot stopped, as the real agent does.
    stopped = read_volume(str(volume), 10).hosts[4]
    assert stopped.stopped and stopped.score == 0, outputs
