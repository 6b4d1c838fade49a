# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hosted-engine HA file formats and shared metadata. Private to ovirt_ha.core: may change without notice."""
