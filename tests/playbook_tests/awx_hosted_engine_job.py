"""The AWX job deploy_hosted_engine_ha run whole, as AWX runs it, against hosts the hosted_engine_ha role has already
converged: through ansible-runner (awx_job.run_machine_job), with an AWX inventory that holds the hosts' addresses and
ports and the deployment's values as inventory variables (the scenario's group_vars and host_vars, less the lab's own
``lab_*`` and the user, which the Machine credential gives), the credential's key through ssh-agent, no extra
variables (the job has no survey) and no interactive input. extensions/molecule/hosted_engine_ha's side_effect.yml
runs this after idempotence, from the top of the tree:

    python -m tests.playbook_tests.awx_hosted_engine_job --inventory-dir DIR --key KEY --host NAME=ADDRESS:PORT ...

The job must succeed with rc 0 and change nothing (no changed task, no handler), every phase of the role must have
been reached (preflight, configure, service and verify run on every host; install and absent skipped, as the
inventory asks: packages not installed, state present), it publishes no set_stats, and neither the key nor a password
or key of the inventory variables shows in its events, stdout or artifacts. Prints the recap and the phases as JSON.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from tests.playbook_tests.awx_job import (artifacts, assert_secrets_absent, failed_messages, key_secrets,
                                          print_job_report, run_machine_job, write_inventory)

GROUP = "hosted_engine_hosts"
# the role's phases by their task names' prefix; install and absent are skipped by this inventory
PHASES_RUN = ("Preflight", "Configure", "Service", "Verify")
PHASES_SKIPPED = ("Install", "Absent")
HANDLERS = ("Restart ovirt-ha-broker", "Restart ovirt-ha-agent")


def inventory_vars(path: Path) -> dict[str, Any]:
    """A group_vars or host_vars file as AWX inventory variables: without the lab's layout and without the user."""
    values = yaml.safe_load(path.read_text()) or {}
    return {k: v for k, v in values.items() if not k.startswith("lab_") and k != "ansible_user"}


def awx_inventory(work: Path, inventory_dir: Path, addresses: dict[str, tuple[str, int]]) -> tuple[Path, list[str]]:
    """The inventory file and the secrets its variables hold (any value of a variable named for a password or key)."""
    group_vars = inventory_vars(inventory_dir / "group_vars" / f"{GROUP}.yml")
    hosts = {}
    for name, (address, port) in addresses.items():
        host_vars = inventory_vars(inventory_dir / "host_vars" / f"{name}.yml")
        hosts[name] = dict(host_vars, ansible_host=address, ansible_port=port)
    secrets = [str(v) for values in [group_vars, *hosts.values()] for k, v in values.items()
               if ("password" in k or k.endswith("_key")) and v not in (None, "")]
    return write_inventory(work / "inventory.yml", GROUP, hosts, group_vars), secrets


def phases(result: Any) -> dict[str, dict[str, list[str]]]:
    """For each phase, the hosts on which a task of it ran (ok) and those on which its tasks were skipped."""
    seen: dict[str, dict[str, set[str]]] = {p: {"ok": set(), "skipped": set()} for p in PHASES_RUN + PHASES_SKIPPED}
    for event in result.events:
        kind = {"runner_on_ok": "ok", "runner_on_skipped": "skipped"}.get(event.get("event", ""))
        phase = str(event.get("event_data", {}).get("task", "")).split(" | ", 1)[0]
        if kind and phase in seen:
            seen[phase][kind].add(event["event_data"]["host"])
    return {p: {k: sorted(v) for k, v in kinds.items()} for p, kinds in seen.items()}


def check_job(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    addresses = {}
    for spec in args.host:
        name, address = spec.split("=", 1)
        host, port = address.rsplit(":", 1)
        addresses[name] = (host, int(port))
    key = Path(args.key).read_text()
    inventory, inventory_secrets = awx_inventory(work, Path(args.inventory_dir), addresses)

    job = run_machine_job(work, "deploy_hosted_engine_ha", {}, inventory, args.user, key, timeout=args.timeout)
    assert job.status == "successful" and job.rc == 0, failed_messages(job) or job.stdout.read()[-3000:]
    recap = {kind: job.stats.get(kind) or {} for kind in ("ok", "changed", "failures", "dark", "skipped", "rescued")}
    changed = sorted({str(e["event_data"].get("task")) for e in job.events
                      if e.get("event") in ("runner_on_ok", "runner_item_on_ok")
                      and e["event_data"].get("res", {}).get("changed")})
    assert not recap["changed"] and not changed, f"a re-apply changed {changed}: {recap['changed']}"
    assert sorted(recap["ok"]) == sorted(addresses), recap
    ran = {str(e["event_data"].get("task")) for e in job.events if e.get("event") == "runner_on_ok"}
    assert not ran & set(HANDLERS), sorted(ran & set(HANDLERS))
    reached = phases(job)
    for phase in PHASES_RUN:
        assert reached[phase]["ok"] == sorted(addresses), (phase, reached[phase])
    for phase in PHASES_SKIPPED:
        assert not reached[phase]["ok"] and reached[phase]["skipped"] == sorted(addresses), (phase, reached[phase])
    published = artifacts(job)
    assert published == {}, f"the job publishes no set_stats, yet: {published}"
    assert_secrets_absent(job, key_secrets(key) + inventory_secrets)
    return {"status": job.status, "rc": job.rc, "recap": recap, "phases": reached, "artifacts": published,
            "inventory_secrets": len(inventory_secrets)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--inventory-dir", required=True, help="the directory with group_vars/ and host_vars/")
    parser.add_argument("--host", action="append", required=True, help="NAME=ADDRESS:PORT, one for each host")
    parser.add_argument("--user", default="root", help="the Machine credential's user")
    parser.add_argument("--key", required=True, help="the Machine credential's private key (a file)")
    parser.add_argument("--timeout", type=int, default=600, help="the job's timeout (seconds)")
    args = parser.parse_args()
    print_job_report("awx-hosted-engine-job-", lambda work: check_job(args, work))


if __name__ == "__main__":
    main()
