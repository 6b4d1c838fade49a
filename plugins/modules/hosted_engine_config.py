#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hosted_engine_config
short_description: Validate and write the hosted-engine HA configuration files of a host
version_added: 1.0.0
description:
  - Writes the files that C(ovirt-ha-agent), C(ovirt-ha-broker) and the C(hosted-engine) command read on a
    hosted-engine host, from structured input, after validating every field.
  - Each file is optional; a file whose option is not given is left alone.
  - Files are written atomically (temporary file in the same directory, then rename) with the owner, group
    and mode given per file. A file whose content and attributes already match is not touched.
  - Values in C(hosted-engine.conf) are written unquoted, because the agent reads the file literally (it
    would keep quotes) while the C(hosted-engine) command sources it with bash. A value that bash would
    change is therefore rejected rather than quoted.
  - Runs on the host itself. Needs no engine and no network.
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
attributes:
  check_mode:
    details: Computes the new content and the diff; writes nothing.
  diff_mode:
    details: One diff per file. Secret values (iSCSI password, O(answers_conf.secret_values)) are masked.
options:
  root:
    description:
      - Directory prefixed to every file path, for tests and image builds. V(/) writes to the real paths.
    type: path
    default: /
  hosted_engine_conf:
    description:
      - C(/etc/ovirt-hosted-engine/hosted-engine.conf), read by the agent, the broker and C(hosted-engine).
      - When the file exists, its comments, blank lines and key order are kept; given keys are updated in
        place, new keys are appended.
    type: dict
    suboptions:
      path: {description: Path of the file (below O(root)).,
             type: path, default: /etc/ovirt-hosted-engine/hosted-engine.conf}
      owner: {description: Owner of the file., type: str, default: vdsm}
      group: {description: Group of the file., type: str, default: kvm}
      mode: {description: Mode of the file. Refused when others may read it and O(hosted_engine_conf.password) is set.,
             type: raw, default: '0440'}
      fqdn: {description: Fully qualified domain name of the engine VM., type: str, required: true}
      host_id:
        description: This host's id, 1 to 2000. It is the host's sanlock id and its metadata slot; it must be
          unique among all hosts of the data center.
        type: int
        required: true
      domain_type:
        description: Storage type of the hosted-engine storage domain (C(domainType)).
        type: str
        required: true
        choices: [nfs, nfs3, nfs4, glusterfs, iscsi, fc]
      storage:
        description:
          - Storage connection. V(server:/path) for V(nfs), V(nfs3), V(nfs4) and V(glusterfs); the portal
            address for V(iscsi); not used for V(fc).
        type: str
      nfs_version: {description: NFS version., type: str, default: auto,
                    choices: [auto, v3, v4, v4_0, v4_1, v4_2]}
      mnt_options: {description: Extra mount options., type: str, default: ''}
      vmid: {description: UUID of the engine VM., type: str, required: true}
      vm_disk_id: {description: UUID of the engine VM's disk image., type: str, required: true}
      vm_disk_vol_id: {description: UUID of the engine VM's disk volume., type: str, required: true}
      sp_uuid: {description: Storage pool UUID (C(spUUID))., type: str,
                default: 00000000-0000-0000-0000-000000000000}
      sd_uuid: {description: Hosted-engine storage domain UUID (C(sdUUID))., type: str, required: true}
      connection_uuid: {description: Storage connection UUID (C(connectionUUID))., type: str, required: true}
      metadata_volume_uuid: {description: C(metadata_volume_UUID)., type: str, required: true}
      metadata_image_uuid: {description: C(metadata_image_UUID)., type: str, required: true}
      lockspace_volume_uuid: {description: C(lockspace_volume_UUID)., type: str, required: true}
      lockspace_image_uuid: {description: C(lockspace_image_UUID)., type: str, required: true}
      conf_volume_uuid: {description: C(conf_volume_UUID)., type: str, required: true}
      conf_image_uuid: {description: C(conf_image_UUID)., type: str, required: true}
      conf: {description: Path of the local vm.conf., type: path,
             default: /var/run/ovirt-hosted-engine-ha/vm.conf}
      console: {description: Console type., type: str, default: vnc, choices: [vnc, spice]}
      vdsm_use_ssl: {description: Talk to vdsm over TLS., type: bool, default: true}
      gateway: {description: Gateway address used by the network test., type: str, required: true}
      bridge: {description: Management bridge., type: str, default: ovirtmgmt}
      network_test: {description: How the agent tests the network., type: str, default: dns,
                     choices: [dns, ping, tcp, none]}
      tcp_t_address: {description: Address for O(hosted_engine_conf.network_test=tcp)., type: str, default: ''}
      tcp_t_port: {description: Port for O(hosted_engine_conf.network_test=tcp)., type: int}
      iqn: {description: iSCSI target name (V(iscsi) only)., type: str, default: ''}
      portal: {description: iSCSI portal group tag (V(iscsi) only)., type: str, default: ''}
      user: {description: iSCSI CHAP user (V(iscsi) only)., type: str, default: ''}
      password: {description: iSCSI CHAP password (V(iscsi) only). Masked in diff and output., type: str,
                 default: ''}
      port: {description: iSCSI portal port (V(iscsi) only)., type: int}
      extra:
        description: Other keys to write as they are (names of the file, values checked shell-safe).
        type: dict
        default: {}
  answers_conf:
    description:
      - The otopi answer file C(/etc/ovirt-hosted-engine/answers.conf).
      - Written as one section; values are typed from their YAML type (null to C(none), boolean to
        C(bool), integer to C(int), string to C(str), list of strings to C(multi-str)).
    type: dict
    suboptions:
      path: {description: Path of the file (below O(root))., type: path,
             default: /etc/ovirt-hosted-engine/answers.conf}
      owner: {description: Owner., type: str, default: root}
      group: {description: Group., type: str, default: kvm}
      mode: {description: Mode. Refused when others may read it and O(answers_conf.secret_values) is set.,
             type: raw, default: '0640'}
      section: {description: otopi section., type: str, default: 'environment:default',
                choices: ['environment:default', 'environment:init', 'environment:override',
                          'environment:enforce']}
      values: {description: Keys like V(OVEHOSTED_VM/vmMemSizeMB) and their values., type: dict, required: true}
      secret_values:
        description: Like O(answers_conf.values) but never logged, masked in diff and output.
        type: dict
        default: {}
  vm_conf:
    description:
      - The vdsm VM configuration C(/var/run/ovirt-hosted-engine-ha/vm.conf) of the engine VM.
    type: dict
    suboptions:
      path: {description: Path of the file (below O(root))., type: path,
             default: /var/run/ovirt-hosted-engine-ha/vm.conf}
      owner: {description: Owner., type: str, default: vdsm}
      group: {description: Group., type: str, default: kvm}
      mode: {description: Mode., type: raw, default: '0640'}
      params:
        description:
          - Top-level keys in the order to write them, for example V(vmId), V(memSize), V(vmName), V(smp).
          - V(vmId) is required and must be a UUID; V(memSize) and V(smp), when given, positive integers.
        type: dict
        required: true
      devices:
        description: One dict per C(devices=) line; nested dicts (C(address), C(specParams)) are kept nested.
        type: list
        elements: dict
        default: []
      xml:
        description: Libvirt domain XML, written base64-encoded as C(xmlBase64).
        type: str
  agent_conf:
    description: C(/etc/ovirt-hosted-engine-ha/agent.conf), the score weights. Must be the same on all hosts.
    type: dict
    suboptions:
      path: {description: Path of the file (below O(root))., type: path,
             default: /etc/ovirt-hosted-engine-ha/agent.conf}
      owner: {description: Owner., type: str, default: root}
      group: {description: Group., type: str, default: root}
      mode: {description: Mode., type: raw, default: '0644'}
      score:
        description:
          - Weights of the C([score]) section, keys with underscores (V(base_score) is written
            C(base-score)). Missing keys take the agent's defaults.
          - Keys are base_score, network_score_penalty, not_uptodate_config_penalty, mgmt_bridge_score_penalty,
            free_memory_score_penalty, cpu_load_score_penalty, engine_retry_score_penalty (integers),
            cpu_load_penalty_min and cpu_load_penalty_max (0 to 1, min not above max).
        type: dict
        default: {}
  broker_conf:
    description:
      - The broker's notification settings. ovirt-hosted-engine-ha 2.x reads
        C(/var/lib/ovirt-hosted-engine-ha/broker.conf); 1.x read C(/etc/ovirt-hosted-engine-ha/broker.conf).
    type: dict
    suboptions:
      path: {description: Path of the file (below O(root))., type: path,
             default: /var/lib/ovirt-hosted-engine-ha/broker.conf}
      owner: {description: Owner., type: str, default: vdsm}
      group: {description: Group., type: str, default: kvm}
      mode: {description: Mode., type: raw, default: '0644'}
      smtp_server: {description: SMTP server., type: str, default: localhost}
      smtp_port: {description: SMTP port., type: int, default: 25}
      smtp_timeout: {description: SMTP timeout in seconds., type: int, default: 10}
      destination_emails: {description: Recipients., type: list, elements: str, default: [root@localhost]}
      source_email: {description: Sender., type: str, default: root@localhost}
      state_transition:
        description: State transitions that send a mail.
        type: list
        elements: str
        choices: [maintenance, start, stop, up, down]
        default: [maintenance, start, stop, up, down]
notes:
  - Does not restart C(ovirt-ha-broker) or C(ovirt-ha-agent); use RV(files) in a handler.
seealso:
  - module: ovirt_ha.core.hosted_engine_status
"""

EXAMPLES = r"""
- name: Configure this host as hosted-engine host 2 on NFS storage
  ovirt_ha.core.hosted_engine_config:
    hosted_engine_conf:
      fqdn: engine.example.com
      host_id: 2
      domain_type: nfs
      storage: nfs.example.com:/exports/hosted_engine
      vmid: 82a24281-8a25-4772-b9c9-45971e811cb3
      vm_disk_id: 6f3b2c1e-7a55-4c2e-9f0b-1d2e3f4a5b6c
      vm_disk_vol_id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
      sd_uuid: 2164faa8-b18b-4036-b686-5a6eec95081b
      connection_uuid: e29cf818-5ee5-46e1-85c1-8aeefa33e95d
      metadata_volume_uuid: 3c0d9f8e-2b1a-4c6d-8e7f-a9b8c7d6e5f4
      metadata_image_uuid: 5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a
      lockspace_volume_uuid: 7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098
      lockspace_image_uuid: 9f8e7d6c-5b4a-4392-8170-f6e5d4c3b2a1
      conf_volume_uuid: 1a2b3c4d-5e6f-4a7b-9c8d-0e1f2a3b4c5d
      conf_image_uuid: 2b3c4d5e-6f7a-4b8c-8d9e-1f2a3b4c5d6e
      gateway: 192.168.122.1
    agent_conf: {}
    broker_conf:
      smtp_server: smtp.example.com
      destination_emails: [ops@example.com]
      state_transition: [start, stop, down]
  register: he_files
  notify: Restart hosted-engine HA services

- name: Write the answer file, the CHAP password kept out of logs
  ovirt_ha.core.hosted_engine_config:
    answers_conf:
      values:
        OVEHOSTED_VM/vmMemSizeMB: 16384
        OVEHOSTED_CORE/deployProceed: true
        OVEHOSTED_STORAGE/LunID: null
      secret_values:
        OVEHOSTED_STORAGE/iSCSIPortalPassword: "{{ vault_iscsi_password }}"
"""

RETURN = r"""
files:
  description: One entry per file given, in the order hosted_engine_conf, answers_conf, vm_conf, agent_conf, broker_conf.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: 'Option name of the file, for example V(hosted_engine_conf).', type: str, returned: always}
    path: {description: Full path written (with O(root))., type: str, returned: always}
    changed: {description: Whether content or attributes changed (or would in check mode)., type: bool,
              returned: always}
  sample: [{name: hosted_engine_conf, path: /etc/ovirt-hosted-engine/hosted-engine.conf, changed: true}]
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.config_files import (
    ConfigError,
    FILE_KINDS,
    render_file,
)
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.config_spec import (
    argument_spec,
)


def _file_args(path, params):
    return dict(path=path, owner=params["owner"], group=params["group"], mode=params["mode"],
                secontext=None, attributes=None)


def _write_atomic(module, path, data, params):
    """Temporary file (0600) beside the target, owner and mode set on it, then renamed over the target."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ansible_he_")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        module.set_fs_attributes_if_different(_file_args(tmp, params), False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    root = module.params["root"]
    files, diffs = [], []
    try:
        rendered = []
        for kind in FILE_KINDS:
            params = module.params.get(kind)
            if params is None:
                continue
            path = os.path.join(root, params["path"].lstrip("/"))
            current = None
            if os.path.exists(path):
                with open(path, "rb") as handle:
                    current = handle.read()
            rendered.append((kind, params, path, current, render_file(kind, params, current)))
    except ConfigError as exc:
        module.fail_json(msg=str(exc), field=exc.field)

    for kind, params, path, current, result in rendered:
        changed = current != result.content
        if changed:
            diffs.append(dict(before_header=path, after_header=path,
                              before=result.masked_before, after=result.masked_after))
            if not module.check_mode:
                _write_atomic(module, path, result.content, params)
        else:
            changed = module.set_fs_attributes_if_different(_file_args(path, params), False)
        files.append(dict(name=kind, path=path, changed=changed))

    changed = any(item["changed"] for item in files)
    result = dict(changed=changed, files=files)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
