"""Daily prices from the user's own CSV or Parquet files.

One file per symbol in the configured `directory`, named after FinScope's symbol exactly as in
the settings (case-sensitive): `<SYMBOL>.csv` or `<SYMBOL>.parquet` (not both). Header names
are matched case-insensitively; other columns are ignored.

| column     | required | meaning                                                              |
|------------|----------|----------------------------------------------------------------------|
| `date`     | yes      | session date `YYYY-MM-DD`, unique (Parquet: date or naive midnight)  |
|            |          | between 1900-01-01 and 2199-12-31                                    |
| `open`     | yes      | as-traded open, > 0; the cell may be empty                           |
| `high`     | yes      | as-traded high, > 0, not below `low`; the cell may be empty          |
| `low`      | yes      | as-traded low, > 0; the cell may be empty                            |
| `close`    | yes      | as-traded close, > 0                                                 |
| `volume`   | yes      | shares/units traded, >= 0                                            |
| `symbol`   | no       | if present, equal to `<SYMBOL>` on every row                         |
| `dividend` | no       | cash per share on its ex-date, as traded; empty or 0 = none          |
| `split`    | no       | new shares per old share on its ex-date (4 = 4-for-1); empty/0: none |

Prices are as traded, not adjusted: FinScope derives adjusted prices from the splits and
dividends. Example `AAPL.csv`:

```
date,open,high,low,close,volume,dividend,split
2020-08-28,504.05,505.77,498.31,499.23,46907479,,
2020-08-31,127.58,131.00,126.00,129.04,225702700,,4
```

A bad value makes the whole file fail, with a message naming the file, the data row (1-based,
the header not counted: data row 1 is line 2 of a CSV) and the column, e.g.
`AAPL.csv: data row 2, column 'close': 'abc' is not a number`. The other symbols still land;
a symbol without a file fails too. Rows outside the requested window are not returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field

from pipelines.sources.base import (
    ACTION_COLUMNS,
    BAR_COLUMNS,
    Instrument,
    PriceBatch,
    PriceSource,
    SymbolFailure,
    empty_actions,
    empty_prices,
)

REQUIRED = ("date", "open", "high", "low", "close", "volume")
NUMBERS = ("open", "high", "low", "close", "volume", "dividend", "split")
FILLED = ("close", "volume")  # cells that may not be empty
PRICES = ("open", "high", "low", "close")
FIRST_DAY, LAST_DAY = pd.Timestamp("1900-01-01"), pd.Timestamp("2199-12-31")
"""The dates a price file may hold: earlier or later is a typo (and past 2262 pandas cannot
represent the day at all)."""


class PriceFileError(ValueError):
    """A user price file that breaks the documented layout; the message says where."""


def _numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, empty, unparseable)`` of a column of numbers or of number-like text."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        return values, np.isnan(values), np.isinf(values)
    text = column.astype("string").fillna("").str.strip()
    empty = (text == "").to_numpy()
    values = pd.to_numeric(text.mask(empty), errors="coerce").to_numpy(dtype="float64")
    return values, empty, ~empty & ~np.isfinite(values)


def _dates(column: pd.Series) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """``(days, bad)``: ISO text parsed strictly; date/timestamp columns must be midnights."""
    if pd.api.types.is_string_dtype(column):
        text = column.astype("string").fillna("").str.strip()
        days = pd.DatetimeIndex(pd.to_datetime(text, format="%Y-%m-%d", errors="coerce"))
        return days, days.isna()
    try:
        days = pd.DatetimeIndex(pd.to_datetime(column, errors="coerce"))
    except (TypeError, ValueError):
        return pd.DatetimeIndex([pd.NaT] * len(column)), np.ones(len(column), bool)
    bad = days.isna() | (days.tz is not None) | (days != days.normalize())
    return days.tz_localize(None) if days.tz is not None else days, np.asarray(bad)


def read_price_file(path: Path, symbol: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and validate one symbol's file (vectorised; the first bad row is reported).

    Returns:
        ``(bars, actions)`` with ``date`` and the ``BAR_COLUMNS``/``ACTION_COLUMNS`` values.

    Raises:
        PriceFileError: the file is unreadable or breaks the documented layout.
    """
    try:
        if path.suffix == ".parquet":
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:  # pandas/pyarrow raise many kinds for a broken file
        raise PriceFileError(f"{path.name}: cannot read: {exc}") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise PriceFileError(f"{path.name}: missing required column(s) {', '.join(missing)}")
    if raw.empty:
        raise PriceFileError(f"{path.name}: no data rows")

    problems: list[tuple[int, str, str, int]] = []  # (row, column, what, count)

    def check(bad: np.ndarray, column: str, what: str) -> None:
        rows = np.flatnonzero(bad)
        if rows.size:
            shown = raw[column].iloc[rows[0]]
            shown = shown.item() if isinstance(shown, np.generic) else shown
            problems.append((int(rows[0]), column, what.format(value=shown), int(rows.size)))

    days, bad_dates = _dates(raw["date"])
    check(bad_dates, "date", "{value!r} is not an ISO date (YYYY-MM-DD)")
    absurd = ~bad_dates & np.asarray((days < FIRST_DAY) | (days > LAST_DAY))
    span = f"{FIRST_DAY:%Y-%m-%d}..{LAST_DAY:%Y-%m-%d}"
    check(absurd, "date", f"{{value!r}} is outside the supported dates {span}")
    values: dict[str, np.ndarray] = {}
    for name in [c for c in NUMBERS if c in raw.columns]:
        values[name], empty, unparseable = _numbers(raw[name])
        check(unparseable, name, "{value!r} is not a number")
        if name in FILLED:
            check(empty, name, "is empty (a value is required)")
        rule, ok = ("> 0", values[name] > 0) if name in PRICES else (">= 0", values[name] >= 0)
        check(~np.isnan(values[name]) & ~ok, name, f"{{value!r}} must be {rule}")
    check(values["high"] < values["low"], "high", "{value} is below low")
    duplicated = days.duplicated() & ~bad_dates
    check(np.asarray(duplicated), "date", "{value} appears on an earlier data row")
    if "symbol" in raw.columns:
        other = raw["symbol"].astype("string").fillna("").str.strip() != symbol
        check(other.to_numpy(), "symbol", f"{{value!r}} is not {symbol!r}")
    if problems:
        row, column, what, _ = min(problems)
        more = sum(p[3] for p in problems) - 1
        tail = f" ({more} more bad value(s) in this file)" if more else ""
        raise PriceFileError(f"{path.name}: data row {row + 1}, column {column!r}: {what}{tail}")

    day = days.astype("datetime64[ns]")
    bars = pd.DataFrame({"date": day, **{c: values[c] for c in REQUIRED[1:]}})
    actions = []
    for column, action in (("dividend", "dividend"), ("split", "split")):
        if column in values:
            has = np.nan_to_num(values[column]) > 0
            actions.append(
                pd.DataFrame({"date": day[has], "action": action, "value": values[column][has]})
            )
    return bars, pd.concat([empty_actions().drop(columns="symbol"), *actions], ignore_index=True)


class FilesSource(PriceSource):
    """Daily bars from the user's own ``<SYMBOL>.csv`` / ``<SYMBOL>.parquet`` files."""

    directory: str = Field(description="Folder holding <SYMBOL>.csv or <SYMBOL>.parquet files.")

    @property
    def source_name(self) -> str:
        return "files"

    def fetch(self, instruments: Sequence[Instrument], start: date, end: date) -> PriceBatch:
        """Rows of ``start..end`` from each symbol's file; a bad or absent file fails that symbol.

        Raises:
            FileNotFoundError: ``directory`` does not exist.
        """
        root = Path(self.directory).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"files source: directory {root} does not exist")
        bars, actions = [empty_prices()], [empty_actions()]
        failures: list[SymbolFailure] = []
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        for inst in instruments:
            found = [
                p
                for p in (root / f"{inst.symbol}.csv", root / f"{inst.symbol}.parquet")
                if p.is_file()
            ]
            try:
                if len(found) != 1:
                    raise PriceFileError(
                        f"no file {inst.symbol}.csv or {inst.symbol}.parquet in {root}"
                        if not found
                        else f"both {inst.symbol}.csv and .parquet exist; keep one"
                    )
                got, acts = read_price_file(found[0], inst.symbol)
            except PriceFileError as exc:
                failures.append(SymbolFailure(self.source_name, inst.symbol, start, end, str(exc)))
                continue
            bars.append(got[got["date"].between(lo, hi)].assign(symbol=inst.symbol))
            actions.append(acts[acts["date"].between(lo, hi)].assign(symbol=inst.symbol))
        types = {"symbol": object, "date": "datetime64[ns]"}
        prices = pd.concat(bars, ignore_index=True)[list(BAR_COLUMNS)].astype(types)
        acts_all = pd.concat(actions, ignore_index=True)[list(ACTION_COLUMNS)].astype(types)
        return PriceBatch(
            prices=prices.sort_values(["symbol", "date"], ignore_index=True),
            actions=acts_all.sort_values(["symbol", "date"], ignore_index=True),
            failures=failures,
        )
