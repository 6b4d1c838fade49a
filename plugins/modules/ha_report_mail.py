#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: ha_report_mail
short_description: Email the HA health report through SMTP
description:
  - Sends the report of M(ovirt_ha.core.ha_report), with its verdict in the subject, the Markdown report in the
    body, and C(report.html) and C(report.json) attached.
  - Uses STARTTLS by default and verifies the server's certificate; the password is used for the SMTP login only
    and never returned.
  - In check mode nothing is sent; C(changed) says whether a message would be.
version_added: 1.0.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.NO_DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_REPORT
options:
  report:
    description: The RV(ovirt_ha.core.ha_report#module:report) of M(ovirt_ha.core.ha_report).
    type: dict
    required: true
  to:
    description: Recipients.
    type: list
    elements: str
    required: true
  sender:
    description: The C(From) address.
    type: str
    required: true
  only_when:
    description:
      - V(always) sends every time; V(problems) only when the verdict is not V(ok); V(changed) only when O(changed)
        is true (pass the C(changed) of the M(ovirt_ha.core.ha_report) task).
    type: str
    choices: [always, problems, changed]
    default: always
  changed:
    description: Whether the report changed since the last run (for O(only_when=changed)).
    type: bool
    default: true
  subject_prefix:
    description: Put before the subject.
    type: str
    default: "[ovirt_ha]"
  smtp_host:
    description: The SMTP server.
    type: str
    required: true
  smtp_port:
    description: Its port.
    type: int
    default: 587
  security:
    description: V(starttls) (upgrade on the submission port), V(ssl) (implicit TLS, port 465) or V(none) (plain, refused with a login).
    type: str
    choices: [starttls, ssl, none]
    default: starttls
  username:
    description: SMTP login; none when unset. Defaults to E(OVIRT_HA_SMTP_USERNAME).
    type: str
  password:
    description: SMTP password. Defaults to E(OVIRT_HA_SMTP_PASSWORD).
    type: str
  ca_file:
    description: PEM file of the CA that signed the server's certificate; the system's CAs otherwise.
    type: path
  validate_certs:
    description: Verify the server's certificate and name.
    type: bool
    default: true
  timeout:
    description: Seconds for the connection and each command.
    type: float
    default: 30
seealso:
  - module: ovirt_ha.core.ha_report
"""

EXAMPLES = r"""
- name: Mail the report to the on-call list when something is wrong
  ovirt_ha.core.ha_report_mail:
    report: "{{ report.report }}"
    only_when: problems
    to: [oncall@example.com]
    sender: ovirt-ha@example.com
    smtp_host: smtp.example.com
    username: ovirt-ha
    password: "{{ vault_smtp_password }}"
"""

RETURN = r"""
sent:
  description: Whether a message was sent (false in check mode and when O(only_when) said no).
  returned: always
  type: bool
subject:
  description: The message's subject.
  returned: always
  type: str
  sample: "[ovirt_ha] cluster Default: FAILING, HA is broken now: 2 critical findings"
refused:
  description: Recipients the server refused.
  returned: when sent
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.ovirt_ha.core.plugins.module_utils._report.mail import MailError, SmtpOptions, message, send, subject


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            report=dict(type="dict", required=True),
            to=dict(type="list", elements="str", required=True),
            sender=dict(type="str", required=True),
            only_when=dict(type="str", choices=["always", "problems", "changed"], default="always"),
            changed=dict(type="bool", default=True),
            subject_prefix=dict(type="str", default="[ovirt_ha]"),
            smtp_host=dict(type="str", required=True),
            smtp_port=dict(type="int", default=587),
            security=dict(type="str", choices=["starttls", "ssl", "none"], default="starttls"),
            username=dict(type="str", fallback=(env_fallback, ["OVIRT_HA_SMTP_USERNAME"])),
            password=dict(type="str", no_log=True, fallback=(env_fallback, ["OVIRT_HA_SMTP_PASSWORD"])),
            ca_file=dict(type="path"),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="float", default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params
    document = params["report"]
    if "verdict" not in document or "cluster" not in document:
        module.fail_json(msg="report: expected the report returned by ovirt_ha.core.ha_report (with verdict and cluster)")
    if params["security"] == "none" and params["username"]:
        module.fail_json(msg="security: none with a username would send the password in clear text; use starttls or ssl")
    title = subject(document, params["subject_prefix"])
    wanted = {"always": True, "problems": document["verdict"]["state"] != "ok", "changed": params["changed"]}[params["only_when"]]
    if not wanted or module.check_mode:
        module.exit_json(changed=wanted, sent=False, subject=title)
    options = SmtpOptions(host=params["smtp_host"], port=params["smtp_port"], security=params["security"],
                          username=params["username"], password=params["password"], ca_file=params["ca_file"],
                          validate_certs=params["validate_certs"], timeout=params["timeout"])
    try:
        result = send(options, message(document, params["sender"], params["to"], params["subject_prefix"]))
    except MailError as exc:
        module.fail_json(msg=str(exc), subject=title)
    module.exit_json(changed=True, sent=True, subject=title, refused=result["refused"])


if __name__ == "__main__":
    main()
