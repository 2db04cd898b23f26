"""The vocabulary every domain shares: instruments, asset classes and the frame layouts.

Pipelines, warehouse code, models and the dashboard all speak of the same ``Instrument`` and
the same columns; they live here, in a module that imports nothing of FinScope's, so that a
new domain (portfolios, forecasts, news, on-chain) imports them without reaching into prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AssetClass = Literal["equity", "etf", "index", "crypto", "fx"]
ActionKind = Literal["split", "dividend"]

ALWAYS_OPEN = "24/7"
"""Calendar of instruments that trade every calendar day (crypto)."""

BAR_COLUMNS: tuple[str, ...] = (
    "symbol", "date", "open", "high", "low", "close", "volume", "market_cap",
)
"""As-traded (unadjusted) daily bars, as every price source delivers them.

``date`` is a ``datetime64`` day (midnight, no time zone): the trading session for exchange
instruments, the UTC calendar day for 24/7 instruments. ``open``/``high``/``low`` and
``market_cap`` may be NaN where a provider has no such field (CoinGecko has no OHLC, Yahoo no
market cap); ``close`` and ``volume`` never are.
"""

ACTION_COLUMNS: tuple[str, ...] = ("symbol", "date", "action", "value")
"""Corporate actions on their ex-date.

``action`` is ``"split"`` (``value`` = new shares per old share, 4.0 for a 4-for-1 split) or
``"dividend"`` (``value`` = cash per share as traded on that day).
"""


@dataclass(frozen=True)
class Instrument:
    """One tradable symbol of the universe, as the settings file declares it."""

    symbol: str
    name: str
    asset_class: AssetClass
    currency: str = "USD"
    calendar: str = "XNYS"
    sector: str | None = None
    yahoo_id: str | None = None
    coingecko_id: str | None = None
    is_benchmark: bool = False

    @property
    def always_open(self) -> bool:
        """Whether it trades every calendar day (crypto) rather than on exchange sessions."""
        return self.calendar == ALWAYS_OPEN
