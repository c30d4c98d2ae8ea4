"""``rebill demo``: the whole pipeline on bundled sample data, in a fresh home.

The demo config is ``data/demo/rebill.toml`` (tenants, pools, fees for the
bundled samples); its paths are rewritten to absolute ones and its home to
the demo folder, so the demo never touches the repository's own ``data/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path

import typer

from rebill.data import DATA as DATA_DIR
from rebill.errors import ConfigError

DATA = DATA_DIR
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


# Cloud samples for `rebill demo --all`: (paths relative to data/).
CLOUD_SOURCES: dict[str, dict[str, str]] = {
    "aws": {"type": "aws_cur", "path": "samples/aws/cur", "prefix": "exports/cur2",
            "export_name": "rebill"},
    "gcp": {"type": "gcp_bigquery", "path": "samples/gcp/export_*.jsonl",
            "schema_path": "samples/gcp/schema.json"},
}
CWD_MARKER = "# written by `rebill demo`"


def _tables(sources: dict[str, dict[str, str]], note: str) -> str:
    text = ""
    for source_id, table in sorted(sources.items()):
        keys = "".join(f"{k} = {json.dumps(v)}\n" for k, v in sorted(table.items()))
        text += f"\n# {note}\n[sources.{source_id}]\n{keys}"
    return text


def render_config(home: Path, template: Path | None, clouds: bool,
                  replayed: dict[str, dict[str, str]] | None = None) -> str:
    """The demo config with its home and sample paths made absolute.

    ``clouds`` adds the AWS CUR and GCP samples; ``replayed`` the DigitalOcean
    and Linode sources :mod:`connectors.replay` serves while the demo ingests.
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
    if clouds:
        located = {sid: {k: str((DATA / v).resolve()) if k in ("path", "schema_path") else v
                         for k, v in t.items()} for sid, t in CLOUD_SOURCES.items()}
        text += _tables(located, "bundled sample (rebill demo --all)")
    if replayed:
        text += _tables(replayed, "replayed on loopback by `rebill demo --all` only")
    return f"{CWD_MARKER}; safe to delete\n{text}"


def publish_config(home: Path, text: str) -> list[Path]:
    """Write the config into the demo home, and to ./rebill.toml unless that is the user's."""
    written = [home / "rebill.toml"]
    written[0].write_text(text)
    here = Path("rebill.toml")
    if os.environ.get("REBILL_CONFIG"):
        return written
    if not here.exists() or here.read_text().startswith(CWD_MARKER):
        here.write_text(text)
        written.append(here.resolve())
    return written


def run_demo(home: Path, engine: str, template: Path | None = None,
             clouds: bool = False) -> None:
    from rebill.connectors.replay import serve_samples
    from rebill.exporters.run import export_period, unfinished
    from rebill.flows.commands.core import report_outcomes, run_ingest
    from rebill.flows.common import open_config
    from rebill.flows.output import render
    from rebill.flows.pipeline import rate
    from rebill.flows.reports import write_reports
    from rebill.normalize.catalog import connect
    from rebill.periods import Period

    began = time.monotonic()
    fresh_home(home)
    typer.echo(f"rebill demo: home {home}")
    typer.echo("1/4 ingest the bundled samples" + (" (FOCUS + AWS, GCP, DigitalOcean, Linode)"
                                                    if clouds else " (FOCUS)"))
    config_path = home / "rebill.toml"
    if clouds:
        with serve_samples(DATA / "samples") as replayed:
            config_path.write_text(render_config(home, template, True, replayed))
            cfg = open_config(config_path)
            # FOCUS files say which months they hold; the cloud samples cover CLOUD_SAMPLES.
            focus = sorted(s for s, t in cfg.sources.items() if t.get("type") == "focus")
            outcomes = run_ingest(config_path, focus, None, None, False, engine).loads
            outcomes += run_ingest(config_path, sorted(set(cfg.sources) - set(focus)),
                                   *CLOUD_SAMPLES, False, engine).loads
    else:
        config_path.write_text(render_config(home, template, False))
        outcomes = run_ingest(config_path, None, None, None, False, engine).loads
    # The replay endpoints die with the demo: the config kept has no such sources.
    written = publish_config(home, render_config(home, template, clouds))
    cfg = open_config(config_path)
    if report_outcomes(outcomes):
        raise ConfigError("demo ingest failed (see above)")
    periods = sorted({Period.parse(o.period) for o in outcomes if o.status != "failed"})
    typer.echo(f"2/4 rate {', '.join(p.label for p in periods)}")
    for p in periods:
        result = rate(cfg, p)
        for t in result.tenants:
            typer.echo(f"  {p} {t.tenant_id}: {t.subtotal} {t.currency} ({t.line_count} lines)")
    typer.echo("3/4 export invoices of closed periods (file target)")
    today = datetime.now(UTC).date()
    for p in periods:
        why = unfinished(cfg, p, today)
        if why:
            typer.echo(f"  {p} not exported: {why.split(';')[0].removeprefix(f'{p} ')}")
            continue
        export_period(cfg, p.label, "file", echo=lambda line: typer.echo(f"  {line}"),
                      today=today)
    typer.echo("4/4 reports")
    con = connect(cfg.home, cfg.rebill.memory_limit)
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
    typer.echo(f"\ndone in {time.monotonic() - began:.1f}s. Config: "
               + " and ".join(str(p) for p in written) + ". Look around:")
    opt = "" if len(written) > 1 else f" --config {config_path}"
    typer.echo(f"  rebill sql{opt} \"SELECT ProviderName, sum(BilledCost) FROM costs GROUP BY 1\"")
    typer.echo(f"  rebill status{opt}")
    typer.echo(f"  rebill report{opt} --period {periods[-1].label if periods else 'YYYY-MM'}")
    typer.echo(f"  cd {home} && duckdb -readonly rebill.duckdb   (DuckDB 1.4 or later; "
               "docs/analysts.md)")
