"""Every source test starts with no host paced: the process-wide pacer forgets its calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelines.sources.http import HOSTS


@pytest.fixture(autouse=True)
def _fresh_host_pacing() -> Iterator[None]:
    HOSTS.reset()
    yield
    HOSTS.reset()
