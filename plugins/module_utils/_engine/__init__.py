# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine (ovirtsdk4) support for the ovirt_ha.core modules.

PRIVATE: this package is an implementation detail of the collection's modules.
Its API may change in any release without notice; do not import it from
other collections.  Only ``module.py`` imports Ansible.
"""
