# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's files, rendered, and written only when their content changed (private, may change)."""
from __future__ import annotations

import os
import tempfile
from typing import Any, Callable, Dict, List, Optional

from . import html, markdown, prometheus, render_json

RENDERERS: Dict[str, Callable[[Dict[str, Any]], str]] = {
    "json": render_json.render, "markdown": markdown.render, "html": html.render, "prometheus": prometheus.render,
}
FILE_NAMES = {"json": "report.json", "markdown": "report.md", "html": "report.html", "prometheus": "metrics.prom"}


def render_all(document: Dict[str, Any], formats: List[str]) -> Dict[str, str]:
    """file name -> content."""
    return {FILE_NAMES[f]: RENDERERS[f](document) for f in formats}


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def plan_files(directory: str, contents: Dict[str, str], mode: int) -> List[Dict[str, Any]]:
    """What writing ``contents`` to ``directory`` changes: one entry per file, with its content before."""
    changes = []
    for name, content in sorted(contents.items()):
        path = os.path.join(directory, name)
        before = _read(path)
        current_mode = os.stat(path).st_mode & 0o777 if before is not None else None
        changes.append({"name": name, "path": path, "before": before, "after": content,
                        "content_changed": before != content, "mode_changed": current_mode != mode})
    return changes


def write_files(directory: str, changes: List[Dict[str, Any]], mode: int) -> None:
    """Atomic writes (a reader, node_exporter's collector among them, never sees half a file), created with ``mode``."""
    os.makedirs(directory, mode=0o750, exist_ok=True)
    for change in changes:
        if change["content_changed"]:
            fd, temporary = tempfile.mkstemp(prefix=".%s." % change["name"], dir=directory)
            try:
                os.fchmod(fd, mode)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(change["after"])
                os.replace(temporary, change["path"])
            except BaseException:
                if os.path.exists(temporary):
                    os.unlink(temporary)
                raise
        elif change["mode_changed"]:
            os.chmod(change["path"], mode)
