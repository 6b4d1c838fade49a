"""The engine machine's AWX jobs, engine_backup and engine_restore_check, run as AWX runs them: through
ansible-runner, with this tree's job playbooks and collection (.build), an inventory that holds the engine machine as
an AWX inventory does (address, port, interpreter; no credential), the Machine credential as AWX hands it over (the
user as ``-u``, the private key through ``ssh_key``, which runner gives to an ssh-agent of the job and to no file the
job keeps), the survey's defaults as extra variables, and no interactive input. extensions/molecule/engine_backup's
verify.yml runs this against the scenario's container, from the top of the tree:

    python -m tests.playbook_tests.awx_engine_jobs --host 127.0.0.1 --port PORT --key KEY --truncated FILE

Three jobs: a backup (successful, its set_stats artifact engine_backup with the file, size and SHA-256); a restore
check of that backup (successful, the verdict in its events, its set_stats artifact engine_restore_check naming the
same file, size and SHA-256); a restore check of FILE, a truncated archive (failed, saying why, its artifact saying
it is not restorable). In none of them the key or a --secret in the events, the stdout or the artifacts. Prints the backup's
artifact as JSON for verify.yml to hold against the file in the container.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tests.playbook_tests.awx_job import (artifacts, assert_secrets_absent, failed_messages, key_secrets, print_job_report,
                                          run_machine_job, survey_defaults, write_inventory)


def task_messages(result: Any, task: str) -> list[str]:
    return [str(e["event_data"]["res"].get("msg")) for e in result.events
            if e.get("event") == "runner_on_ok" and e["event_data"].get("task") == task]


def check_jobs(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    key = Path(args.key).read_text()
    secrets = key_secrets(key) + args.secret
    host = {"ansible_host": args.host, "ansible_port": args.port, "ansible_python_interpreter": args.python}
    inventory = write_inventory(work / "inventory.yml", "engine", {args.name: host})

    backup = run_machine_job(work, "engine_backup", survey_defaults("engine_backup"), inventory, args.user, key)
    assert backup.status == "successful" and backup.rc == 0, failed_messages(backup) or backup.stdout.read()[-3000:]
    published = artifacts(backup)["engine_backup"][args.name]
    assert {"file", "size", "sha256"} <= set(published), published
    assert_secrets_absent(backup, secrets)

    extravars = dict(survey_defaults("engine_restore_check"), engine_restore_check_file=published["file"])
    check = run_machine_job(work, "engine_restore_check", extravars, inventory, args.user, key)
    assert check.status == "successful" and check.rc == 0, failed_messages(check) or check.stdout.read()[-3000:]
    verdict = task_messages(check, "The verdict")
    assert len(verdict) == 1 and "passes the archive check and engine-backup --mode=verify" in verdict[0], verdict
    outcome = artifacts(check)["engine_restore_check"][args.name]
    assert outcome["restorable"] is True and outcome["problems"] == [] and outcome["verify_rc"] == 0, outcome
    assert (outcome["file"], outcome["size"], outcome["sha256"]) == (published["file"], published["size"], published["sha256"])
    assert_secrets_absent(check, secrets)

    extravars = dict(survey_defaults("engine_restore_check"), engine_restore_check_file=args.truncated)
    bad = run_machine_job(work, "engine_restore_check", extravars, inventory, args.user, key)
    assert bad.status == "failed" and bad.rc != 0, (bad.status, bad.rc)
    assert f"{args.truncated} cannot be restored as it is" in failed_messages(bad), failed_messages(bad)
    refused = artifacts(bad)["engine_restore_check"][args.name]  # published before the verdict failed the job
    assert refused["restorable"] is False and refused["file"] == args.truncated and refused["problems"], refused
    assert_secrets_absent(bad, secrets)
    return {"engine_backup": published, "restore_check": verdict[0], "truncated": failed_messages(bad)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--name", default="engine-vm", help="the engine machine's inventory name")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=22)
    parser.add_argument("--user", default="root", help="the Machine credential's user")
    parser.add_argument("--key", required=True, help="the Machine credential's private key (a file)")
    parser.add_argument("--python", default="/usr/bin/python3", help="the engine machine's interpreter")
    parser.add_argument("--truncated", required=True, help="a truncated backup archive on the engine machine")
    parser.add_argument("--secret", action="append", default=[], help="text that no job may show (repeatable)")
    args = parser.parse_args()
    print_job_report("awx-engine-jobs-", lambda work: check_jobs(args, work))


if __name__ == "__main__":
    main()
