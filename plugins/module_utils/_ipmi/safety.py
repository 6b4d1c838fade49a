# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Refuse to fence the machine the module runs on (private, may change).

The module's own BMC is known from an explicit option, or read from the
local BMC over the in-band interface (``ipmitool lan print``) when an IPMI
device exists.  A target named like this machine (short or fully qualified
host name) is refused too.  Addresses are compared after resolution, so a
name and its IP match.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
from typing import Iterable, List, Optional, Sequence, Set

from .._hosted_engine.metadata import read_volume
from .._hosted_engine.vm_status import engine_vm_state
from .errors import FenceRefused, IpmiInputError
from .target import BmcTarget

_IPMI_DEVICES = ("/dev/ipmi0", "/dev/ipmi/0", "/dev/ipmidev/0")
_LAN_PRINT_TIMEOUT = 10
_IP_LINE = re.compile(r"^\s*IP Address\s*:\s*(\S+)\s*$", re.MULTILINE)


def local_bmc_addresses_from_ipmitool(runner: Optional[Sequence[str]] = None) -> List[str]:
    """The local BMC's LAN address(es) read in-band; empty when there is no local BMC or no ipmitool."""
    if runner is None:
        if not any(os.path.exists(path) for path in _IPMI_DEVICES) and not glob.glob("/dev/ipmi*"):
            return []
        ipmitool = shutil.which("ipmitool")
        if ipmitool is None:
            return []
        runner = [ipmitool, "lan", "print"]
    try:
        completed = subprocess.run(list(runner), capture_output=True, text=True, timeout=_LAN_PRINT_TIMEOUT,
                                   check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return [address for address in _IP_LINE.findall(completed.stdout) if address not in ("0.0.0.0", "")]


def _resolve(name: str) -> Set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError):
        return set()


def local_names() -> Set[str]:
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    names |= {name.split(".")[0] for name in list(names)}
    return {name for name in names if name and name not in ("localhost", "localhost.localdomain")}


def check_not_self(targets: Iterable[BmcTarget], own_bmc_addresses: Iterable[str],
                   host_names: Optional[Set[str]] = None) -> None:
    """Raise FenceRefused naming every target that is this machine's own BMC or named like this machine."""
    own = {address for address in own_bmc_addresses if address}
    own_resolved: Set[str] = set(own)
    for address in own:
        own_resolved |= _resolve(address)
    names = local_names() if host_names is None else host_names
    refused: List[str] = []
    for target in targets:
        if own_resolved and (target.address in own_resolved or _resolve(target.address) & own_resolved):
            refused.append("%s is this machine's own BMC" % target.label)
        elif target.name.lower() in names or target.name.split(".")[0].lower() in names:
            refused.append("%s is named like the machine this module runs on" % target.label)
    if refused:
        raise FenceRefused("refusing to fence the machine the module runs on: %s; run the task from another host "
                           "(delegate_to) so the fencer survives the fence" % "; ".join(refused))


def engine_vm_hosts(metadata_path: str) -> Set[str]:
    """Host names the hosted-engine metadata volume shows running the engine VM (stale blocks included)."""
    try:
        volume = read_volume(metadata_path)
    except OSError as exc:
        raise IpmiInputError("hosted_engine_metadata: cannot read the metadata volume %s (%s); without it the "
                             "module cannot tell which host runs the engine VM" % (metadata_path, exc.strerror)
                             ) from None
    return {block.hostname.lower() for block in volume.hosts.values()
            if block.hostname and engine_vm_state(block) == "up"}


def check_not_engine_host(targets: Iterable[BmcTarget], engine_hosts: Set[str]) -> None:
    """Raise FenceRefused naming every target named like a host that runs the hosted-engine VM."""
    short = {name.split(".")[0] for name in engine_hosts}
    refused = [target.label for target in targets
               if target.name.lower() in engine_hosts or target.name.split(".")[0].lower() in short]
    if refused:
        raise FenceRefused("refusing to fence %s: the hosted-engine metadata shows the engine VM running there "
                           "(possibly stale); set force: true to fence anyway" % ", ".join(refused))
