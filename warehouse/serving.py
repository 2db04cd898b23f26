"""The serving registry's vocabulary: which tables the app reads, declared once per domain.

A domain (prices, portfolios, forecasts, news, on-chain ...) declares its serving tables in its
own warehouse module as one ``ServingDomain``; ``warehouse.registry.DOMAINS`` lists the
domains. Everything else derives from that one declaration: the tables copied into the
domain's snapshot and their row order (``warehouse.snapshot.publish``), the snapshot asset's
dependencies and the unique-key checks (``pipelines.serving``).

Table and column names are identifiers checked here, once, against a strict pattern, so the
code that copies or checks a table can put them into SQL text; nothing a user types ever
reaches these names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
"""A lower-case SQL identifier: the only names a serving table, column or domain may have."""


def _identifier(kind: str, name: str) -> str:
    if not IDENTIFIER.match(name):
        raise ValueError(f"{kind} {name!r} is not a lower-case identifier ([a-z][a-z0-9_]*)")
    return name


@dataclass(frozen=True)
class ServingTable:
    """One table the app reads.

    Attributes:
        name: ``schema.table`` in the warehouse (and in the snapshot).
        asset: the Dagster asset that writes it (the snapshot asset depends on it).
        key: its logical key; a blocking unique-key check is derived when it is not empty.
        sort: the row order in the snapshot (default: the key), so filters on it prune well.
        description: what an analyst finds in it (shown in the README and the Dagster UI).
    """

    name: str
    asset: str
    key: tuple[str, ...] = ()
    sort: tuple[str, ...] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        schema, _, table = self.name.partition(".")
        _identifier("schema", schema)
        _identifier("table", table)
        for column in (*self.key, *(self.sort or ())):
            _identifier("column", column)

    @property
    def order(self) -> tuple[str, ...]:
        """The snapshot's row order."""
        return self.key if self.sort is None else self.sort


@dataclass(frozen=True)
class ServingDomain:
    """A domain's serving tables: published together, in one snapshot file of their own.

    A failing blocking check on one of these tables holds back this domain's snapshot only.
    """

    name: str
    tables: tuple[ServingTable, ...]

    def __post_init__(self) -> None:
        _identifier("domain", self.name)
        names = [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError(f"domain {self.name!r} declares a table twice")

    @property
    def assets(self) -> list[str]:
        """The assets that write this domain's tables, in declaration order, once each."""
        return list(dict.fromkeys(t.asset for t in self.tables))

    def table(self, name: str) -> ServingTable:
        """The declaration of table ``name``.

        Raises:
            KeyError: the domain declares no such table.
        """
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"{name!r} is not a serving table of domain {self.name!r}")
