"""``rebill demo``: the whole pipeline on bundled sample data, in a fresh home."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date
from pathlib import Path

import typer

from rebill.errors import ConfigError

DATA = Path(__file__).resolve().parent.parent / "data"
MARKER = ".rebill-demo"
# The months the bundled DigitalOcean and Linode invoices cover.
INVOICE_SAMPLES = (date(2026, 9, 1), date(2026, 11, 30))


def fresh_home(home: Path) -> None:
    """Create ``home`` anew; refuse to wipe a folder that is not an earlier demo."""
    if home.exists():
        if not (home / MARKER).exists() and any(home.iterdir()):
            raise ConfigError(f"{home} exists and is not a rebill demo home; pass --home NEW_DIR")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / MARKER).write_text("created by rebill demo; safe to delete\n")


def write_config(home: Path, replayed: dict[str, dict[str, str]] | None = None) -> Path:
    """The bundled demo config, with paths pointing at the bundled samples.

    ``replayed``: extra ``[sources.<id>]`` tables (the DigitalOcean and Linode
    sources served by :mod:`connectors.replay` while the demo ingests).
    """
    template = (DATA / "demo" / "rebill.toml").read_text()
    text = template.replace("@SAMPLES@", str(DATA / "samples")).replace("@HOME@", str(home))
    for source_id, table in sorted((replayed or {}).items()):
        keys = "".join(f"{k} = {json.dumps(v)}\n" for k, v in sorted(table.items()))
        text += "\n# replayed by `rebill demo` only (connectors/replay.py)\n"
        text += f"[sources.{source_id}]\n{keys}"
    shutil.copy(DATA / "demo" / "fx.csv", home / "fx.csv")
    path = home / "rebill.toml"
    path.write_text(text)
    return path


def run_demo(home: Path, engine: str) -> None:
    from connectors.replay import serve_samples
    from flows.commands.core import report_outcomes, run_ingest

    began = time.monotonic()
    fresh_home(home)
    typer.echo(f"rebill demo: home {home}")
    typer.echo("1. ingest bundled samples")
    with serve_samples(DATA / "samples") as replayed:
        config_path = write_config(home, replayed)
        outcomes = run_ingest(config_path, None, None, None, False, engine)
        outcomes += run_ingest(config_path, sorted(replayed), *INVOICE_SAMPLES, False, engine)
    if report_outcomes(outcomes):
        raise ConfigError("demo ingest failed (see above)")
    typer.echo(f"done in {time.monotonic() - began:.1f}s. Look around:")
    typer.echo(f"  rebill sql --config {config_path} "
               "\"SELECT ProviderName, sum(BilledCost) FROM costs GROUP BY 1\"")
    typer.echo(f"  duckdb -readonly {home / 'rebill.duckdb'}")
