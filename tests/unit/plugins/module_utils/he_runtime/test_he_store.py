from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._he_runtime import store


def test_one_lease_at_a_time_and_only_its_token_releases_it(tmp_path):
    first = store.Lease(str(tmp_path), "awx-1", 180)
    record = first.acquire(now=1000.0)
    assert record["holder"] == "awx-1" and record["expires"] == 1180.0
    assert stat.S_IMODE(os.stat(first.path).st_mode) == 0o640
    with pytest.raises(store.LeaseBusy, match="held by awx-1"):
        store.Lease(str(tmp_path), "cron-2", 180).acquire(now=1100.0)
    assert not first.release("not-the-token")
    assert first.release(record["token"])
    assert not os.path.exists(first.path)


def test_an_expired_lease_is_taken_over(tmp_path):
    store.Lease(str(tmp_path), "dead", 60).acquire(now=1000.0)
    taken = store.Lease(str(tmp_path), "next", 60).acquire(now=1061.0)
    assert taken["took_over_from"] == "dead"
    assert store.Lease(str(tmp_path), "x", 60).current()["holder"] == "next"


def test_a_torn_lease_file_counts_as_expired(tmp_path):
    (tmp_path / store.LEASE).write_text("{not json", encoding="utf-8")
    assert store.Lease(str(tmp_path), "next", 60).acquire(now=5.0)["holder"] == "next"


def test_memory_is_replaced_whole_and_private(tmp_path):
    assert store.load_memory(str(tmp_path)) == {}
    store.save_memory(str(tmp_path), {"tried": [[1, 2]]})
    store.save_memory(str(tmp_path), {"tried": []})
    assert store.load_memory(str(tmp_path)) == {"tried": []}
    assert stat.S_IMODE(os.stat(tmp_path / store.MEMORY).st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == [store.MEMORY]
