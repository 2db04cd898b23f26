"""Prepare the data directory and the Dagster instance that lives in it."""

from __future__ import annotations

import os
import shutil

from warehouse.paths import PROJECT_ROOT, DataHome


def prepare(home: DataHome) -> DataHome:
    """Create the data directory and point ``DAGSTER_HOME`` at it with FinScope's dagster.yaml."""
    home.ensure()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home.dagster_home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    os.environ["FINSCOPE_HOME"] = str(home.root)
    return home
