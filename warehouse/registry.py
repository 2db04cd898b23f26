"""Every serving domain. A new domain adds its ``SERVING`` declaration here, once."""

from __future__ import annotations

from warehouse import prices
from warehouse.serving import ServingDomain, ServingTable

DOMAINS: tuple[ServingDomain, ...] = (prices.SERVING,)

_names = [t.name for d in DOMAINS for t in d.tables]
if len(set(_names)) != len(_names):  # pragma: no cover - a registry edit gone wrong
    raise ValueError("a serving table is declared by two domains")


def domain(name: str) -> ServingDomain:
    """The registered domain called ``name``.

    Raises:
        KeyError: no such domain.
    """
    for d in DOMAINS:
        if d.name == name:
            return d
    raise KeyError(f"no serving domain {name!r} (known: {', '.join(d.name for d in DOMAINS)})")


def keyed_tables() -> list[ServingTable]:
    """Every serving table with a declared key, across domains."""
    return [t for d in DOMAINS for t in d.tables if t.key]
