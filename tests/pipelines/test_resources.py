"""The warehouse resource: it waits for another process's lock, says so, and then proceeds."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from pipelines.resources import WarehouseResource

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


@pytest.mark.parametrize("opener", ["connect", "read"])
def test_a_locked_warehouse_is_waited_for_with_a_message(tmp_path, caplog, opener):
    path = tmp_path / "wh.duckdb"
    resource = WarehouseResource(path=str(path), lock_wait_s=30)
    with resource.connect():
        pass  # create and migrate
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), "2"], text=True,
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="finscope.warehouse"), \
                getattr(resource, opener)() as con:
            waited = time.monotonic() - t0
            assert con is not None
            assert con.execute("SELECT count(*) FROM meta.migrations").fetchone()[0] >= 2
    finally:
        holder.wait(timeout=30)
    assert waited > 0.5  # it did wait for the other process
    assert any("locked by another process; waiting" in r.getMessage() for r in caplog.records)


def test_a_lock_held_too_long_fails_naming_the_lock(tmp_path):
    path = tmp_path / "wh.duckdb"
    resource = WarehouseResource(path=str(path), lock_wait_s=0.5)
    with resource.connect():
        pass
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), "5"], text=True,
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(Exception, match="lock"), resource.connect():
            pass
    finally:
        holder.kill()
        holder.wait()


def test_every_run_that_opens_the_warehouse_names_its_process(tmp_path):
    import os

    import dagster as dg

    from pipelines.run_owner import PID_TAG, STARTED_TAG, owner_tags, process_gone

    @dg.asset
    def touch(warehouse: WarehouseResource) -> None:
        with warehouse.connect():
            pass

    with dg.instance_for_test() as instance:
        result = dg.materialize([touch], instance=instance,
                                resources={"warehouse": WarehouseResource(
                                    path=str(tmp_path / "wh.duckdb"))})
        tags = instance.get_run_by_id(result.run_id).tags
    assert tags[PID_TAG] == str(os.getpid()) and tags[STARTED_TAG] == owner_tags()[STARTED_TAG]
    assert not process_gone(os.getpid(), tags[STARTED_TAG])


def test_a_reused_pid_is_not_taken_for_the_runs_process():
    from pipelines.run_owner import process_gone, process_start

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_start(other.pid)
        assert started is not None and not process_gone(other.pid, started)
        boot, ticks = started.rsplit(":", 1)
        # The same pid, alive, but a process that started at another time: someone else's.
        assert process_gone(other.pid, f"{boot}:{int(ticks) - 100}")
        assert process_gone(other.pid, f"another-boot:{ticks}")
    finally:
        other.kill()
        other.wait()
    assert process_gone(other.pid, started)  # and once it is gone, it is gone
