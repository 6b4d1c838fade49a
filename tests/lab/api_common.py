"""Shared pieces of the engine API: request object, query parsing, SDK XML in and out, request statistics."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import parse_qs

import ovirtsdk4.types as t
from ovirtsdk4.reader import Reader

from tests.lab.api_xml import write
from tests.lab.errors import ApiError

XML = "application/xml"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def flag(self, name: str) -> bool:
        value = self.query.get(name)
        if value is None and name == "all_content":
            value = self.headers.get("all-content")
        return (value or "").lower() == "true"

    def follow(self) -> list[str]:
        return [part.strip() for part in self.query.get("follow", "").split(",") if part.strip()]

    def max(self) -> Optional[int]:
        value = self.query.get("max")
        if value is None:
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise ApiError(400, f"Value '{value}' of parameter 'max' isn't a valid integer", reason="Invalid value") from exc

    def read(self, expected: type) -> Any:
        if not self.body.strip():
            raise ApiError(400, "Request syntactically incorrect. See the description below for the correct usage:",
                           reason="Request syntactically incorrect.")
        try:
            obj = Reader.read(self.body)
        except Exception as exc:  # the SDK reader raises several types on malformed XML
            raise ApiError(400, f"Request syntactically incorrect: {exc}", reason="Request syntactically incorrect.") from exc
        if not isinstance(obj, expected):
            raise ApiError(400, f"Expected <{expected.__name__.lower()}> in the request body", reason="Request syntactically incorrect.")
        return obj


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = XML
    headers: dict[str, str] = field(default_factory=dict)


def parse_query(raw: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def ok(body: bytes, status: int = 200) -> Response:
    return Response(status, body)


def action_done(**extra: Any) -> Response:
    return Response(200, write(t.Action(status="complete", **extra)))


def fault_response(error: ApiError) -> Response:
    if error.status == 404 and not error.detail:
        return Response(404, b"")
    return Response(error.status, write(t.Fault(reason=error.reason, detail=error.detail)))


class Stats:
    """API request counters (GET /lab/stats)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = 0
        self.by_path: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.sso_logins = 0
        self.sso_failures = 0
        self.sso_logouts = 0

    def count(self, method: str, path: str) -> None:
        with self.lock:
            self.total += 1
            self.by_path[f"{method} {path}"] += 1

    def status(self, code: int) -> None:
        with self.lock:
            self.by_status[str(code)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"total": self.total, "by_path": dict(self.by_path), "by_status": dict(self.by_status), "sso_logins": self.sso_logins,
                    "sso_failures": self.sso_failures, "sso_logouts": self.sso_logouts}

    def reset(self) -> None:
        with self.lock:
            self.total = 0
            self.by_path.clear()
            self.by_status.clear()
            self.sso_logins = self.sso_failures = self.sso_logouts = 0
