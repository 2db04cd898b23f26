"""Where FinScope keeps its runtime data: one directory, never the source tree."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "FINSCOPE_HOME"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = PROJECT_ROOT / ".finscope"


@dataclass(frozen=True)
class DataHome:
    """The data directory and the fixed layout inside it."""

    root: Path

    @classmethod
    def from_env(cls) -> DataHome:
        """The directory named by ``FINSCOPE_HOME``, else ``.finscope/`` in the project."""
        return cls(Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser().resolve())

    @property
    def warehouse(self) -> Path:
        """The read-write warehouse: only Dagster's writer assets open it."""
        return self.root / "warehouse.duckdb"

    @property
    def snapshots(self) -> Path:
        """Serving snapshots, read-only for the dashboard."""
        return self.root / "snapshots"

    @property
    def dagster_home(self) -> Path:
        """``DAGSTER_HOME``: run/event storage, schedules, compute logs."""
        return self.root / "dagster"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def staging(self) -> Path:
        """Fetched data waiting for its short write into the warehouse, one folder per run."""
        return self.root / "staging"

    @property
    def cache(self) -> Path:
        """Third-party caches (yfinance's time-zone cache ...), kept out of the home folder."""
        return self.root / "cache"

    def ensure(self) -> DataHome:
        """Create the directories; returns self."""
        for path in (self.root, self.snapshots, self.dagster_home, self.logs, self.staging):
            path.mkdir(parents=True, exist_ok=True)
        return self
