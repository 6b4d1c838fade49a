# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.json: the document as stable JSON (sorted keys, so equal documents are equal bytes) (private, may change)."""
from __future__ import annotations

import json
from typing import Any, Dict


def render(document: Dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
