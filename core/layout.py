"""Where everything lives under ``<home>`` (one place for every path)."""

from __future__ import annotations

from pathlib import Path

LAKE = "lake/costs"
SCHEMA_DIR = "_schema"  # empty placeholder files so views work on an empty home


def lake_root(home: Path) -> Path:
    return home / LAKE


def partition_dir(home: Path, source_id: str, period_label: str) -> Path:
    return lake_root(home) / f"source={source_id}" / f"billing_period={period_label}"


def partition_file(home: Path, source_id: str, period_label: str) -> Path:
    return partition_dir(home, source_id, period_label) / "part-0.parquet"


def state_dir(home: Path) -> Path:
    return home / "state"


def loads_file(home: Path) -> Path:
    return state_dir(home) / "loads.parquet"


def exports_file(home: Path) -> Path:
    """The export ledger (written by exporters, read by the invoices view)."""
    return state_dir(home) / "exports.parquet"


def rated_root(home: Path) -> Path:
    return home / "rated"


def rated_dir(home: Path, period_label: str) -> Path:
    """One folder per rated period, replaced whole: rated_costs, invoice_lines, ..."""
    return rated_root(home) / f"period={period_label}"


def tmp_dir(home: Path) -> Path:
    """Staging area on the same filesystem; nothing here is ever globbed by a view."""
    path = home / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def catalog_file(home: Path) -> Path:
    return home / "rebill.duckdb"


def exports_dir(home: Path, period_label: str) -> Path:
    return home / "exports" / period_label


def receivables_dir(home: Path) -> Path:
    """Append-only log of invoice read-backs: one Parquet file per ``rebill reconcile`` run."""
    return state_dir(home) / "receivables"


def reconciliation_dir(home: Path) -> Path:
    """Drift found by each ``rebill reconcile`` run, one Parquet file per run."""
    return state_dir(home) / "reconciliation"
