# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument spec of the hosted_engine_config module (private, may change).

Kept here so the module stays thin and the role can mirror it; plain data, no Ansible import.
"""
from __future__ import annotations

import typing as t

BLANK_UUID = "00000000-0000-0000-0000-000000000000"


def _file_options(path: str, owner: str, group: str, mode: str) -> dict[str, t.Any]:
    return dict(
        path=dict(type="path", default=path),
        owner=dict(type="str", default=owner),
        group=dict(type="str", default=group),
        mode=dict(type="raw", default=mode),
    )


def _required(kind: str) -> dict[str, t.Any]:
    return dict(type=kind, required=True)


def hosted_engine_conf_options() -> dict[str, t.Any]:
    options = _file_options("/etc/ovirt-hosted-engine/hosted-engine.conf", "vdsm", "kvm", "0440")
    options.update(
        fqdn=_required("str"),
        host_id=_required("int"),
        domain_type=dict(type="str", required=True, choices=["nfs", "nfs3", "nfs4", "glusterfs", "iscsi", "fc"]),
        storage=dict(type="str"),
        nfs_version=dict(type="str", default="auto", choices=["auto", "v3", "v4", "v4_0", "v4_1", "v4_2"]),
        mnt_options=dict(type="str", default=""),
        vmid=_required("str"),
        vm_disk_id=_required("str"),
        vm_disk_vol_id=_required("str"),
        sp_uuid=dict(type="str", default=BLANK_UUID),
        sd_uuid=_required("str"),
        connection_uuid=_required("str"),
        metadata_volume_uuid=_required("str"),
        metadata_image_uuid=_required("str"),
        lockspace_volume_uuid=_required("str"),
        lockspace_image_uuid=_required("str"),
        conf_volume_uuid=_required("str"),
        conf_image_uuid=_required("str"),
        conf=dict(type="path", default="/var/run/ovirt-hosted-engine-ha/vm.conf"),
        console=dict(type="str", default="vnc", choices=["vnc", "spice"]),
        vdsm_use_ssl=dict(type="bool", default=True),
        gateway=_required("str"),
        bridge=dict(type="str", default="ovirtmgmt"),
        network_test=dict(type="str", default="dns", choices=["dns", "ping", "tcp", "none"]),
        tcp_t_address=dict(type="str", default=""),
        tcp_t_port=dict(type="int"),
        iqn=dict(type="str", default=""),
        portal=dict(type="str", default=""),
        user=dict(type="str", default=""),
        password=dict(type="str", default="", no_log=True),
        port=dict(type="int"),
        extra=dict(type="dict", default={}),
    )
    return options


def argument_spec() -> dict[str, t.Any]:
    answers = _file_options("/etc/ovirt-hosted-engine/answers.conf", "root", "kvm", "0640")
    answers.update(
        section=dict(type="str", default="environment:default",
                     choices=["environment:default", "environment:init", "environment:override",
                              "environment:enforce"]),
        values=_required("dict"),
        secret_values=dict(type="dict", default={}, no_log=True),
    )
    vm_conf = _file_options("/var/run/ovirt-hosted-engine-ha/vm.conf", "vdsm", "kvm", "0640")
    vm_conf.update(
        params=_required("dict"),
        devices=dict(type="list", elements="dict", default=[]),
        xml=dict(type="str"),
    )
    agent = _file_options("/etc/ovirt-hosted-engine-ha/agent.conf", "root", "root", "0644")
    agent.update(score=dict(type="dict", default={}))
    broker = _file_options("/var/lib/ovirt-hosted-engine-ha/broker.conf", "vdsm", "kvm", "0644")
    broker.update(
        smtp_server=dict(type="str", default="localhost"),
        smtp_port=dict(type="int", default=25),
        smtp_timeout=dict(type="int", default=10),
        destination_emails=dict(type="list", elements="str", default=["root@localhost"]),
        source_email=dict(type="str", default="root@localhost"),
        state_transition=dict(type="list", elements="str", choices=["maintenance", "start", "stop", "up", "down"],
                              default=["maintenance", "start", "stop", "up", "down"]),
    )
    return dict(
        root=dict(type="path", default="/"),
        hosted_engine_conf=dict(type="dict", options=hosted_engine_conf_options()),
        answers_conf=dict(type="dict", options=answers),
        vm_conf=dict(type="dict", options=vm_conf),
        agent_conf=dict(type="dict", options=agent),
        broker_conf=dict(type="dict", options=broker),
    )
