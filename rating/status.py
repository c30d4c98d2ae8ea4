"""What ``rebill status`` shows for a rated period, read from the rated files and the lake."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rebill import duck
from rebill.config import Config
from rebill.errors import RatingError
from rebill.layout import rated_dir, rated_root
from rebill.periods import Period
from rebill.rating import conservation
from rebill.rating.attribute import cost_column, source_sql
from rebill.rating.engine import TenantTotal
from rebill.sql import literal

TOP = 5


@dataclass(frozen=True)
class Contributor:
    """An account or tag holding unallocated cost."""

    currency: str
    label: str
    cost: Decimal
    rows: int


@dataclass(frozen=True)
class StatusReport:
    period: Period
    tenants: list[TenantTotal]
    unallocated: dict[str, Decimal]
    unallocated_rows: int
    top_accounts: list[Contributor]
    top_tags: list[Contributor]
    excluded_tax: dict[str, Decimal]
    conservation: list[conservation.Conservation] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        """Whether the rated files still account for the lake exactly (else: re-rate)."""
        return all(c.ok for c in self.conservation)


def rated_periods(home: Path) -> list[Period]:
    out: list[Period] = []
    for d in sorted(rated_root(home).glob("period=*")):
        if (d / "invoice_lines.parquet").exists():
            out.append(Period.parse(d.name.removeprefix("period=")))
    return out


def latest_rated_period(home: Path) -> Period | None:
    """The current UTC month if it is rated, else the latest rated period."""
    periods = rated_periods(home)
    current = Period.of(datetime.now(UTC).date())
    if current in periods:
        return current
    return periods[-1] if periods else None


def status(cfg: Config, period: Period) -> StatusReport:
    """Per-tenant totals, unallocated cost and where it comes from, tax, conservation."""
    folder = rated_dir(cfg.home, period.label)
    if not (folder / "invoice_lines.parquet").exists():
        raise RatingError(f"period {period} is not rated yet; run `rebill rate --period {period}`")
    files = {
        n: literal(str(folder / f"{n}.parquet")) for n in ("rated_costs", "unallocated", "invoices")
    }
    names = {t.id: t.name for t in cfg.tenants}
    con = duck.connect()  # registers an object-store lake
    try:
        tenants = [
            TenantTotal(tid, names.get(tid), cur, Decimal(sub), int(n))
            for tid, cur, sub, n in con.execute(
                "SELECT tenant_id, currency, subtotal, line_count "
                f"FROM read_parquet({files['invoices']}) ORDER BY tenant_id"
            ).fetchall()
        ]
        unalloc = f"read_parquet({files['unallocated']})"
        totals = con.execute(
            f"SELECT currency, sum(cost), count(*) FROM {unalloc} GROUP BY 1 ORDER BY 1"
        ).fetchall()
        accounts = con.execute(f"""
SELECT currency, provider || ' ' || coalesce(account, billing_account, '?'), sum(cost), count(*)
FROM {unalloc} GROUP BY ALL ORDER BY abs(sum(cost)) DESC, 2, 1 LIMIT {TOP}""").fetchall()
        tags = con.execute(f"""
SELECT currency, tag, sum(cost), count(*) FROM (
  SELECT currency, cost, unnest(CASE WHEN tags IS NULL OR cardinality(tags) = 0
      THEN ['(no tags)'] ELSE list_transform(map_entries(tags), lambda e: e.key || '=' || e.value)
      END) AS tag
  FROM {unalloc})
GROUP BY ALL ORDER BY abs(sum(cost)) DESC, 2, 1 LIMIT {TOP}""").fetchall()
        balance = conservation.measure(
            con, source_sql(cfg.home, period), cost_column=cost_column(cfg),
            tax_excluded=cfg.rebill.provider_tax == "exclude",
            rated_costs=folder / "rated_costs.parquet",
            unallocated=folder / "unallocated.parquet",
        )
    finally:
        con.close()
    return StatusReport(
        period=period,
        tenants=tenants,
        unallocated={str(c): Decimal(s) for c, s, _ in totals},
        unallocated_rows=sum(int(n) for _, _, n in totals),
        top_accounts=[Contributor(c, lbl, Decimal(s), int(n)) for c, lbl, s, n in accounts],
        top_tags=[Contributor(c, lbl, Decimal(s), int(n)) for c, lbl, s, n in tags],
        excluded_tax={b.currency: b.excluded_tax for b in balance if b.excluded_tax},
        conservation=balance,
    )
