# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPMI (pyghmi) support for the ovirt_ha.core ipmi_* modules.

PRIVATE: this package is an implementation detail of the collection's modules.
Its API may change in any release without notice; do not import it from
other collections.  Only ``module.py`` imports Ansible.

Layout: ``errors`` typed failures; ``target`` what to connect to;
``client`` the pyghmi session and chassis commands; ``power`` and ``fence``
the operations (pure logic over a ``PowerControl``); ``pool`` one worker
process per BMC with bounded parallelism and a hard deadline; ``safety`` the
self-fence guard; ``module`` the AnsibleModule wrapper.
"""
