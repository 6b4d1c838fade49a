# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    """Options of the host-side modules that find the hosted-engine metadata volume from hosted-engine.conf."""

    DOCUMENTATION = r"""
options:
  config:
    description: hosted-engine.conf of this host (its C(host_id), C(sdUUID), C(storage), C(domainType)).
    type: path
    default: /etc/ovirt-hosted-engine/hosted-engine.conf
  metadata_path:
    description: The metadata volume. Default - found from O(config) below O(mount_root).
    type: path
  mount_root:
    description: Where vdsm mounts storage domains.
    type: path
    default: /rhev/data-center/mnt
"""
