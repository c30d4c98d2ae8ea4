"""``rebill demo``: the whole pipeline on bundled sample data, in a fresh home."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import typer

from rebill.errors import ConfigError

DATA = Path(__file__).resolve().parent.parent / "data"
MARKER = ".rebill-demo"


def fresh_home(home: Path) -> None:
    """Create ``home`` anew; refuse to wipe a folder that is not an earlier demo."""
    if home.exists():
        if not (home / MARKER).exists() and any(home.iterdir()):
            raise ConfigError(f"{home} exists and is not a rebill demo home; pass --home NEW_DIR")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / MARKER).write_text("created by rebill demo; safe to delete\n")


def write_config(home: Path) -> Path:
    """The bundled demo config, with paths pointing at the bundled samples."""
    template = (DATA / "demo" / "rebill.toml").read_text()
    text = template.replace("@SAMPLES@", str(DATA / "samples")).replace("@HOME@", str(home))
    shutil.copy(DATA / "demo" / "fx.csv", home / "fx.csv")
    path = home / "rebill.toml"
    path.write_text(text)
    return path


def run_demo(home: Path, engine: str) -> None:
    from flows.commands.core import report_outcomes, run_ingest

    began = time.monotonic()
    fresh_home(home)
    config_path = write_config(home)
    typer.echo(f"rebill demo: home {home}")
    typer.echo("1. ingest bundled samples")
    outcomes = run_ingest(config_path, None, None, None, False, engine)
    if report_outcomes(outcomes):
        raise ConfigError("demo ingest failed (see above)")
    typer.echo(f"done in {time.monotonic() - began:.1f}s. Look around:")
    typer.echo(f"  rebill sql --config {config_path} "
               "\"SELECT ProviderName, sum(BilledCost) FROM costs GROUP BY 1\"")
    typer.echo(f"  duckdb -readonly {home / 'rebill.duckdb'}")
