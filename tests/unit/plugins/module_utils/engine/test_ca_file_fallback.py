"""auth.ca_file defaults: OVIRT_CAFILE, else the ovirt_ca_file of the ini file AWX's Red Hat Virtualization
credential writes (OVIRT_INI_PATH)."""
from __future__ import annotations

from pathlib import Path

import pytest
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import ca_file_fallback

AWX_INI = "[ovirt]\novirt_url=https://engine/ovirt-engine/api\novirt_username=admin@internal\novirt_password=p%w\n"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OVIRT_CAFILE", raising=False)
    monkeypatch.delenv("OVIRT_INI_PATH", raising=False)


def test_ovirt_cafile_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ini = tmp_path / "ovirt.ini"
    ini.write_text(AWX_INI + "ovirt_ca_file=/from/ini.pem")
    monkeypatch.setenv("OVIRT_INI_PATH", str(ini))
    monkeypatch.setenv("OVIRT_CAFILE", "/from/env.pem")
    assert ca_file_fallback() == "/from/env.pem"


def test_the_awx_ini_file_gives_the_ca_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ini = tmp_path / "ovirt.ini"
    ini.write_text(AWX_INI + "ovirt_ca_file=/etc/pki/ovirt-engine/ca.pem")  # AWX writes no final newline
    monkeypatch.setenv("OVIRT_INI_PATH", str(ini))
    assert ca_file_fallback() == "/etc/pki/ovirt-engine/ca.pem"


@pytest.mark.parametrize("content", [AWX_INI, AWX_INI + "ovirt_ca_file=", "not an ini file", None])
def test_no_ca_file_means_no_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None) -> None:
    ini = tmp_path / "ovirt.ini"
    if content is not None:
        ini.write_text(content)
    monkeypatch.setenv("OVIRT_INI_PATH", str(ini))
    with pytest.raises(AnsibleFallbackNotFound):
        ca_file_fallback()


def test_nothing_set_means_no_default() -> None:
    with pytest.raises(AnsibleFallbackNotFound):
        ca_file_fallback()
