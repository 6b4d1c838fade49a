"""Fixtures for the lab's own tests: the session lab comes from tests/lab/pytest_fixtures.py."""

from __future__ import annotations

from tests.lab.pytest_fixtures import lab, lab_connection  # noqa: F401  pylint: disable=unused-import
