"""Suite-wide fixtures: FinScope's clock is frozen for every test, so no test depends on the
date, hour or time zone it runs at.

``FROZEN_AT`` is an ordinary weekday afternoon; a test that needs another instant (the 1st of a
month at 00:30 UTC, New Year's Eve) uses ``clock.frozen(...)`` inside, and a test that drives
real processes (which read the system clock) is marked ``real_clock``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from models import clock
from models.clock import Clock

if TYPE_CHECKING:
    import dagster as dg

FROZEN_AT = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
"""The instant FinScope's clock shows in tests (a Wednesday; XNYS open, the month half gone)."""


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> Iterator[Clock]:
    """FinScope's clock, frozen at ``FROZEN_AT`` unless the test is marked ``real_clock``."""
    if request.node.get_closest_marker("real_clock"):
        yield clock.current()
        return
    with clock.frozen(FROZEN_AT) as frozen:
        yield frozen


@pytest.fixture
def finscope_instance(tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """FinScope's own instance (its dagster.yaml: the writer pool of 1) in a temporary data
    directory, through ``finscope.home.prepare``; ``DAGSTER_HOME`` is set for child processes
    too, and restored afterwards with ``FINSCOPE_HOME``."""
    import dagster as dg  # here, not at the top: most tests never load Dagster

    from finscope import home as data_home
    from warehouse.paths import DataHome

    monkeypatch.setenv("DAGSTER_HOME", "")  # prepare() sets both; monkeypatch restores them
    monkeypatch.setenv("FINSCOPE_HOME", "")
    data_home.prepare(DataHome(tmp_path / "dagster-home"))
    with dg.DagsterInstance.get() as instance:
        yield instance
