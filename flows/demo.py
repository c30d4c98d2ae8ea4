"""``rebill demo``: the whole pipeline on bundled sample data, in a fresh home.

The demo config is ``data/demo/rebill.toml`` (tenants, pools, fees for the
bundled samples); its paths are rewritten to absolute ones and its home to
the demo folder, so the demo never touches the repository's own ``data/``.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import date
from pathlib import Path

import typer

from rebill.errors import ConfigError

DATA = Path(__file__).resolve().parent.parent / "data"
MARKER = ".rebill-demo"
# The months the bundled AWS, GCP, DigitalOcean and Linode samples cover.
CLOUD_SAMPLES = (date(2026, 9, 1), date(2026, 11, 30))


def fresh_home(home: Path) -> None:
    """Create ``home`` anew; refuse to wipe a folder that is not an earlier demo."""
    if home.exists():
        if not (home / MARKER).exists() and any(home.iterdir()):
            raise ConfigError(f"{home} exists and is not a rebill demo home; pass --home NEW_DIR")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / MARKER).write_text("created by rebill demo; safe to delete\n")


def _absolute(match: re.Match[str], base: Path) -> str:
    key, value = match.group(1), match.group(2)
    return f'{key} = "{(base / value).resolve()}"'


def write_config(home: Path, replayed: dict[str, dict[str, str]] | None = None,
                 template: Path | None = None) -> Path:
    """The bundled demo config with its home and sample paths made absolute.

    ``replayed``: extra ``[sources.<id>]`` tables for the DigitalOcean and
    Linode sources that :mod:`connectors.replay` serves while the demo ingests.
    """
    source = template or DATA / "demo" / "rebill.toml"
    base = source.parent
    if not source.exists():
        raise ConfigError(f"{source}: config file not found")
    text = source.read_text()
    text, n = re.subn(r'(?m)^home = "[^"]*"', f'home = "{home}"', text)
    if n != 1:
        raise ConfigError(f"{source}: expected one [rebill] home line")
    text = re.sub(r'(?m)^(path|schema_path) = "([^"]*)"', lambda m: _absolute(m, base), text)
    for source_id, table in sorted((replayed or {}).items()):
        keys = "".join(f"{k} = {json.dumps(v)}\n" for k, v in sorted(table.items()))
        text += f"\n# replayed by `rebill demo` only (connectors/replay.py)\n[sources.{source_id}]\n{keys}"
    path = home / "rebill.toml"
    path.write_text(text)
    return path


def run_demo(home: Path, engine: str, template: Path | None = None) -> None:
    from connectors.base import Period
    from connectors.replay import serve_samples
    from exporters.run import export_period
    from flows.commands.core import report_outcomes, run_ingest
    from flows.output import render
    from flows.pipeline import rate
    from flows.reports import write_reports
    from normalize.catalog import connect
    from rebill.config import load_config

    began = time.monotonic()
    fresh_home(home)
    typer.echo(f"rebill demo: home {home}")
    typer.echo("1/4 ingest the bundled samples")
    with serve_samples(DATA / "samples") as replayed:
        config_path = write_config(home, replayed, template)
        cfg = load_config(config_path)
        # FOCUS files say which months they hold; the cloud samples cover CLOUD_SAMPLES.
        focus = sorted(s for s, t in cfg.sources.items() if t.get("type") == "focus")
        clouds = sorted(set(cfg.sources) - set(focus))
        outcomes = run_ingest(config_path, focus, None, None, False, engine)
        outcomes += run_ingest(config_path, clouds, *CLOUD_SAMPLES, False, engine)
    if report_outcomes(outcomes):
        raise ConfigError("demo ingest failed (see above)")
    periods = sorted({Period.parse(o.period) for o in outcomes if o.status != "failed"})
    typer.echo(f"2/4 rate {', '.join(p.label for p in periods)}")
    for p in periods:
        result = rate(cfg, p)
        for t in result.tenants:
            typer.echo(f"  {p} {t.tenant_id}: {t.subtotal} {t.currency} ({t.line_count} lines)")
    typer.echo("3/4 export invoices (file target)")
    for p in periods:
        export_period(cfg, p.label, "file", echo=lambda line: typer.echo(f"  {line}"))
    typer.echo("4/4 reports")
    con = connect(cfg.home)
    for p in periods:
        for path in write_reports(con, cfg, p):
            if path.name == "overview.html":
                typer.echo(f"  {path}")
    rows = con.execute(
        "SELECT tenant_id, period, line_no, kind, description, amount, currency "
        "FROM invoice_lines ORDER BY period, tenant_id, line_no").fetchall()
    typer.echo("\nInvoices:")
    typer.echo(render(["tenant_id", "period", "line_no", "kind", "description", "amount",
                       "currency"], rows, "table"))
    typer.echo(f"\ndone in {time.monotonic() - began:.1f}s. Look around:")
    typer.echo(f"  rebill sql --config {config_path} "
               "\"SELECT ProviderName, sum(BilledCost) FROM costs GROUP BY 1\"")
    typer.echo(f"  rebill status --config {config_path}")
    typer.echo(f"  duckdb -readonly {home / 'rebill.duckdb'}   (or python: "
               f"duckdb.connect('{home / 'rebill.duckdb'}', read_only=True))")
