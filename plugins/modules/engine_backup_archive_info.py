#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: engine_backup_archive_info
short_description: Check that engine-backup archives are complete and readable
version_added: 1.1.0
description:
  - Reads each archive written by C(engine-backup --mode=backup) to its end, and checks it against its own hash
    file, C(sha256sum) (what engine-backup writes since oVirt 4.4) or C(md5sum) (older archives), the one
    engine-backup's verify mode would use. Every listed file must be present with that checksum, no file may be
    left out of the list, the configuration tar C(files) (when the scope had files) must be readable to its end,
    and there must be a C(version) file and, unless O(require_engine_db=false), the engine database dump
    C(db/engine_backup.db).
  - A truncated or corrupt archive never makes the module fail by itself; it is reported in RV(archives) with
    C(complete=false) and its problems. Use O(fail_on_incomplete) to fail instead.
  - Returns size and SHA-256 of each archive, for a copy kept elsewhere.
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.attributes.READ_ONLY
  - ovirt_ha.core.attributes.ACTION_GROUP_HOSTED_ENGINE
options:
  paths:
    description: Archives to check, on the machine the module runs on.
    type: list
    elements: path
    required: true
  require_engine_db:
    description: Whether an archive without C(db/engine_backup.db) (a backup made with a files-only scope) is incomplete.
    type: bool
    default: true
  fail_on_incomplete:
    description: Fail, naming the archives and their problems, when one is not complete.
    type: bool
    default: false
notes:
  - Needs read access to the archives (they are mode 0600, so usually root).
"""

EXAMPLES = r"""
- name: Check the newest backup
  ovirt_ha.core.engine_backup_archive_info:
    paths: [/var/lib/ovirt-ha-engine-backup/engine-backup-20260101T023000.tar.gz]
    fail_on_incomplete: true
  register: backup_check

- name: Show its checksum
  ansible.builtin.debug:
    msg: "{{ backup_check.archives[0].sha256 }}"
"""

RETURN = r"""
archives:
  description: One entry per path, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    path: {description: The archive., type: str}
    size: {description: Size in bytes., type: int}
    sha256: {description: SHA-256 of the archive file., type: str}
    version: {description: The engine version the backup was made with (its C(version) file)., type: str}
    files: {description: Number of configuration files in the configuration tar C(files) (0 without one)., type: int}
    databases: {description: Database dumps in C(db/)., type: list, elements: str}
    complete: {description: Whether the archive passed every check., type: bool}
    problems:
      description: Findings, each with C(kind), C(member) (or null) and C(message).
      type: list
      elements: dict
  sample: [{path: /var/lib/ovirt-ha-engine-backup/engine-backup-20260101T023000.tar.gz, size: 48213,
            sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, version: 4.5.6,
            files: 212, databases: [engine_backup.db], complete: true, problems: []}]
incomplete:
  description: Paths of the archives that are not complete.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovirt_ha.core.plugins.module_utils._backup.engine_archive import check_archive


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", required=True),
            require_engine_db=dict(type="bool", default=True),
            fail_on_incomplete=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    paths = module.params["paths"]
    if not paths:
        module.fail_json(msg="paths: expected at least one archive path, got an empty list")
    reports = [check_archive(path, require_engine_db=module.params["require_engine_db"]) for path in paths]
    archives = [report.as_dict() for report in reports]
    incomplete = [report.path for report in reports if not report.complete]
    if incomplete and module.params["fail_on_incomplete"]:
        module.fail_json(
            msg="incomplete engine backup archive(s): " + "; ".join(
                "%s (%s)" % (report.path, ", ".join(p.message for p in report.problems[:5]))
                for report in reports if not report.complete),
            archives=archives, incomplete=incomplete)
    module.exit_json(changed=False, archives=archives, incomplete=incomplete)


if __name__ == "__main__":
    main()
