"""Ingest benchmark: rebill's focus load vs bare DuckDB doing the same work.

Target (DESIGN.md): rebill <= 1.25x bare DuckDB reading, transforming and
writing the same rows, in <= 2 GB peak memory.

    .venv/bin/python bench/gen_focus.py --rows 10000000 --files 10 --out bench/out/focus
    .venv/bin/python bench/bench_ingest.py bench/out/focus
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REBILL = """
import sys, time
from datetime import date
from pathlib import Path
from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.normalize.catalog import ensure_layout
from rebill.normalize.lake import load_partition
src, home = Path(sys.argv[1]), Path(sys.argv[2])
ensure_layout(home)
ctx = Context(home=home, base_dir=src, today=date(2026, 11, 3))
conn = build("bench", {"type": "focus", "path": str(src / "*.parquet")}, ctx)
t = time.monotonic()
for p in conn.periods(date.min, date.max):
    r = load_partition(home, conn, p, force=True)
import resource
print(time.monotonic() - t, r.rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""

BARE = """
import sys, time, duckdb
src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect(); con.execute("SET TimeZone='UTC'"); con.execute("SET memory_limit='2GB'"); con.execute('SET enable_progress_bar=false')
t = time.monotonic()
con.execute(f'''COPY (SELECT *, 'bench' AS x_source,
  substr(md5(CAST(BilledCost AS VARCHAR) || ChargeDescription), 1, 20) AS x_row_id,
  'load' AS x_load_id FROM read_parquet('{src}/*.parquet')
  WHERE ChargePeriodStart < ChargePeriodEnd) TO '{out}' (FORMAT parquet, COMPRESSION zstd)''')
n = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0]
import resource
print(time.monotonic() - t, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def run(code: str, *args: str) -> tuple[float, int, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parent.parent).stdout.split()
    return float(out[0]), int(out[1]), float(out[2])


def main() -> None:
    src = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        bare_s, bare_n, bare_mb = run(BARE, str(src), f"{tmp}/bare.parquet")
        ours_s, ours_n, ours_mb = run(REBILL, str(src), f"{tmp}/home")
    print(json.dumps({
        "rows": ours_n, "bare_duckdb_s": round(bare_s, 2), "rebill_s": round(ours_s, 2),
        "ratio": round(ours_s / bare_s, 2), "target_ratio": 1.25,
        "rebill_peak_mb": round(ours_mb), "bare_peak_mb": round(bare_mb),
    }, indent=2))
    assert bare_n == ours_n


if __name__ == "__main__":
    main()
