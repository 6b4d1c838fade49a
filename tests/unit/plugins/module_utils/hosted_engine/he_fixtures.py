"""Paths of the reference hosted-engine files copied into tests/unit/fixtures/reference."""
from __future__ import annotations

from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[3] / "fixtures" / "reference"


def read_bytes(name: str) -> bytes:
    return (REFERENCE / name).read_bytes()


def read_text(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")
