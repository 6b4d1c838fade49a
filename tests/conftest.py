"""Every test that runs against a lab fails when the lab recorded a violation the test did not expect."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.lab.testing import LIVE


@pytest.fixture(autouse=True)
def _no_unexpected_lab_violations() -> Iterator[None]:
    yield
    for handle in list(LIVE):
        handle.check_violations()
