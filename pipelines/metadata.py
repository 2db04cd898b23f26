"""What every FinScope asset reports to Dagster: row counts, a preview, a line in the log."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd


def materialized(
    context: dg.AssetExecutionContext,
    metadata: dict[str, Any],
    check_results: list[dg.AssetCheckResult] | None = None,
) -> dg.MaterializeResult:
    """The asset's result, with a one-line summary in the run log (``finscope build`` shows it)."""
    span = f" {metadata['window']}" if "window" in metadata else ""
    context.log.info(f"{context.asset_key.to_user_string()}{span}: "
                     f"{metadata.get('dagster/row_count', 0):,} rows")
    return dg.MaterializeResult(metadata=metadata, check_results=check_results or [])


def preview(frame: pd.DataFrame, rows: int = 8) -> dg.MetadataValue:
    """A small markdown table for the Dagster UI."""
    text = frame.head(rows).to_markdown(index=False) if len(frame) else "_no rows_"
    return dg.MetadataValue.md(text)
