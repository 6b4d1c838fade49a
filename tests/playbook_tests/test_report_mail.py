"""ha_report_mail against a local SMTP server (STARTTLS, login): the report arrives attached, and the password is
neither in the message nor in the module's result.

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_report_mail.py
"""
from __future__ import annotations

import email
import json
from email import policy
from typing import Any, Dict

from ansible_collections.ovirt_ha.core.plugins.module_utils._report.document import build
from ansible_collections.ovirt_ha.core.plugins.modules import ha_report_mail
from ansible_collections.ovirt_ha.core.tests.unit.module_runner import run_main
from tests.playbook_tests.smtp_server import local_smtp

GIB = 1024 ** 3


def report() -> Dict[str, Any]:
    snapshot = {"cluster": {"name": "Default", "fencing_policy": {"enabled": True}},
                "hosts": [{"name": "host01", "status": "up", "spm": True, "max_scheduling_memory": 8 * GIB,
                           "power_management": {"enabled": False}}],
                "vms": [{"name": "web", "host": None, "status": "down", "high_availability": True, "memory": GIB}],
                "storage_domains": []}
    return build(snapshot)


def args(server: Any, **extra: Any) -> Dict[str, Any]:
    values = {"report": report(), "to": ["oncall@example.com"], "sender": "ovirt-ha@example.com", "smtp_host": "127.0.0.1",
              "smtp_port": server.port, "username": server.username, "password": server.password, "ca_file": server.ca_file,
              "timeout": 10}
    values.update(extra)
    return values


def test_the_report_arrives_over_starttls_with_its_attachments_and_no_password(tmp_path: Any, capsys: Any) -> None:
    with local_smtp(str(tmp_path)) as server:
        rc, result = run_main(ha_report_mail.main, args(server), capsys)
        assert rc == 0, result
        assert result["sent"] is True and result["changed"] is True and result["refused"] == []
        assert server.password not in json.dumps(result)
        assert len(server.messages) == 1 and server.logins
        raw = server.messages[0]
        assert server.password.encode() not in raw
        message = email.message_from_bytes(raw, policy=policy.default)
        assert str(message["Subject"]).strip() == "[ovirt_ha] cluster Default: FAILING, HA is broken now: 1 critical finding"
        assert "HA VM web is down" in message.get_body(("plain",)).get_content()
        attachments = {part.get_filename(): part for part in message.iter_attachments()}
        assert set(attachments) == {"report.html", "report.json"}
        attached = json.loads(attachments["report.json"].get_content())
        assert attached["verdict"]["state"] == "failing"
        assert "FAILING" in attachments["report.html"].get_content()


def test_check_mode_and_only_when_send_nothing(tmp_path: Any, capsys: Any) -> None:
    with local_smtp(str(tmp_path)) as server:
        rc, checked = run_main(ha_report_mail.main, args(server), capsys, check_mode=True)
        assert rc == 0 and checked["changed"] is True and checked["sent"] is False
        healthy = build({"cluster": {"name": "Default"}, "hosts": [], "vms": [], "storage_domains": []})
        rc, quiet = run_main(ha_report_mail.main, args(server, report=healthy, only_when="problems"), capsys)
        assert rc == 0 and quiet["changed"] is False and quiet["sent"] is False
        assert server.messages == []


def test_a_wrong_password_or_an_untrusted_certificate_fails_without_the_password(tmp_path: Any, capsys: Any) -> None:
    with local_smtp(str(tmp_path)) as server:
        rc, refused = run_main(ha_report_mail.main, args(server, password="wrong-Pa55word"), capsys)
        assert rc == 1 and "refused the login of reporter" in refused["msg"] and "wrong-Pa55word" not in json.dumps(refused)
        assert server.refused_logins >= 1  # smtplib tries each mechanism the server offers
        rc, untrusted = run_main(ha_report_mail.main, args(server, ca_file=None), capsys)
        assert rc == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted["msg"] and server.password not in json.dumps(untrusted)
        rc, plain = run_main(ha_report_mail.main, args(server, security="none"), capsys)
        assert rc == 1 and "clear text" in plain["msg"]
        assert server.messages == []
