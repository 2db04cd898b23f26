"""The offline ``sample`` price source: the seeded market simulator behind ``PriceSource``.

It is the default source and the one tests and demos use: no network, the same data for the same
seed, and a day's bars never depend on the window asked for. The maths lives in
``models.market_sim``; this module maps instruments to the simulator and its answers to a
``PriceBatch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache

from pydantic import Field, field_validator

from models.instruments import Instrument
from models.market_sim import MarketSimulator, SeriesSpec, synthetic_universe
from pipelines.sources.base import PriceBatch, PriceSource, SymbolFailure


@lru_cache(maxsize=4)
def _simulator(seed: int, history_start: date) -> MarketSimulator:
    """One simulator, and so one cache of generated history, per (seed, history start)."""
    return MarketSimulator(seed, history_start)


def _spec(instrument: Instrument) -> SeriesSpec:
    return SeriesSpec(
        symbol=instrument.symbol,
        asset_class=instrument.asset_class,
        sector=instrument.sector,
        calendar=instrument.calendar,
    )


class SampleSource(PriceSource):
    """Simulated daily bars and corporate actions: offline, deterministic, seeded.

    Equities, ETFs and indices trade on their exchange calendar, crypto every day; asset
    classes the simulator does not model (fx) come back as failures. Generated history is kept
    per (seed, history_start) in the process, so repeated daily fetches cost a slice.
    """

    seed: int = Field(
        default=42, ge=0, description="Random seed; the same seed always gives the same data."
    )
    history_start: str = Field(
        default="2015-01-01",
        description=(
            "ISO date on which the simulated history starts. Every series is generated from "
            "here, so the bars of a day never depend on the window fetched; there are no bars "
            "before it."
        ),
    )

    @field_validator("history_start")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"history_start must be an ISO date (YYYY-MM-DD): {exc}") from exc
        return value

    @property
    def source_name(self) -> str:
        """Provenance name stored with every row."""
        return "sample"

    def fetch(self, instruments: Sequence[Instrument], start: date, end: date) -> PriceBatch:
        """Simulated bars and actions for ``instruments`` on ``start..end`` (both inclusive).

        Args:
            instruments: the symbols to simulate; each symbol at most once.
            start: first day.
            end: last day.

        Returns:
            As-traded bars on each symbol's trading days and the splits and dividends that go ex
            in the window. Unsupported asset classes, unknown calendars, repeated symbols and
            windows that end before ``history_start`` are reported in ``failures``.
        """
        history_start = date.fromisoformat(self.history_start)
        simulator = _simulator(self.seed, history_start)
        specs: dict[str, SeriesSpec] = {}
        failures: list[SymbolFailure] = []
        for instrument in instruments:
            spec = _spec(instrument)
            if spec.symbol in specs:
                reason = None if specs[spec.symbol] == spec else "symbol listed twice"
            elif end < history_start:
                reason = f"the simulated history starts on {history_start}"
            else:
                reason = simulator.unsupported_reason(spec, end)
            if reason is None:
                specs[spec.symbol] = spec
            else:
                failures.append(SymbolFailure(self.source_name, spec.symbol, start, end, reason))
        prices, actions = simulator.window(list(specs.values()), start, end)
        return PriceBatch(prices=prices, actions=actions, failures=failures)


def synthetic_instruments(n_equities: int, n_crypto: int = 0) -> list[Instrument]:
    """A made-up universe for benchmarks and load tests (see ``synthetic_universe``).

    Args:
        n_equities: number of XNYS equities, ``SIM0000``..., sectors cycling.
        n_crypto: number of 24/7 crypto assets, ``SIMC000-USD``....

    Returns:
        Instruments that ``SampleSource`` simulates.
    """
    return [
        Instrument(
            symbol=spec.symbol,
            name=f"Simulated {spec.symbol}",
            asset_class="crypto" if spec.asset_class == "crypto" else "equity",
            sector=spec.sector,
            calendar=spec.calendar,
        )
        for spec in synthetic_universe(n_equities, n_crypto)
    ]
