"""pytest fixtures: add ``pytest_plugins = ["tests.lab.pytest_fixtures"]`` to a conftest.py.

``lab``: one lab for the whole session (4 hosts, 20 VMs, hosted engine, virtual clock, engine up for 10 minutes so
fencing is allowed).  Tests that change the lab should put back what they changed (``lab.clear_faults()``).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.lab.testing import LabHandle, running_lab


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    state_dir = str(tmp_path_factory.mktemp("lab"))
    with running_lab(state_dir, hosts=4, vms=20, hosted_engine=True, virtual_clock=True, engine_uptime=600) as handle:
        yield handle


@pytest.fixture()
def lab_connection(lab: LabHandle) -> Iterator[object]:
    connection = lab.connection()
    try:
        yield connection
    finally:
        connection.close()
