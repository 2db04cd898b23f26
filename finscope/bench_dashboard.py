"""Markets-page latency: the real callback body, called as a plain function, over a snapshot."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from pathlib import Path

from plotly.io.json import to_json_plotly

from models.instruments import Instrument


def markets_latencies(snapshot_dir: Path, universe: list[Instrument], calls: int) -> list[float]:
    """Seconds per ``update_charts`` call plus JSON encoding of its outputs (what Dash sends).

    Every call asks for a different view (1-4 symbols, a random window of 3 months to 10 years,
    candlestick or line, log or not, a 21- or 63-bar volatility window), so the per-snapshot cache
    rarely helps: this is the cold path a new visitor's clicks take.
    """
    from dashboards.app import create_app

    create_app(snapshot_dir)
    from dashboards import data
    from dashboards.pages import markets

    bounds = data.date_bounds()
    first, last = bounds.first, bounds.last
    if first is None or last is None:
        raise RuntimeError(f"the snapshot in {snapshot_dir} holds no bars")
    rng = random.Random(11)
    symbols = [i.symbol for i in universe]
    samples = []
    markets.update_charts([symbols[0]], None, None)  # warm imports and the instrument catalog
    for _ in range(calls):
        chosen = rng.sample(symbols, rng.randint(1, 4))
        span = rng.randint(90, (last - first).days)
        start = first + timedelta(days=rng.randint(0, (last - first).days - span))
        end = min(last, start + timedelta(days=span))
        t0 = time.perf_counter()
        out = markets.update_charts(
            chosen, start.isoformat(), end.isoformat(), rng.choice(["candlestick", "line"]),
            rng.random() < 0.3, rng.choice([21, 63]),
        )
        to_json_plotly(list(out))
        samples.append(time.perf_counter() - t0)
        assert out.alert is None, out.alert  # a benchmark of error pages would be worthless
    return samples
