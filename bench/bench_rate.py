"""Rating benchmark: rebill rate vs a bare DuckDB group-by of the same rows.

Target (DESIGN.md): rate in <= 5x a bare DuckDB group-by (tenant, day,
service) of the month, in <= 2 GB peak memory.

    .venv/bin/python bench/gen_focus.py --rows 10000000 --files 10 --out bench/out/focus
    .venv/bin/python bench/bench_rate.py bench/out/focus
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

SETUP = """
import sys
from datetime import date
from pathlib import Path
from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.normalize.catalog import ensure_layout
from rebill.normalize.lake import load_partition
src, home = Path(sys.argv[1]), Path(sys.argv[2])
ensure_layout(home)
conn = build("bench", {"type": "focus", "path": str(src / "*.parquet")},
             Context(home=home, base_dir=src, today=date(2026, 11, 3)))
for p in conn.periods(date.min, date.max):
    load_partition(home, conn, p)
"""

RATE = """
import resource, sys, time
from pathlib import Path
from rebill.periods import Period
from rebill.rating import rate_period
from rebill.config import load_config
cfg = load_config(Path(sys.argv[1]))
t = time.monotonic()
r = rate_period(cfg, Period.parse("2026-10"))
print(time.monotonic() - t, r.rated_rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""

BARE = """
import resource, sys, time, duckdb
con = duckdb.connect(); con.execute("SET enable_progress_bar=false"); con.execute("SET TimeZone='UTC'")
t = time.monotonic()
n = con.execute(f'''SELECT count(*) FROM (SELECT Tags['team'] AS tenant, CAST(ChargePeriodStart AS DATE) AS day,
  ServiceName, sum(BilledCost) FROM read_parquet('{sys.argv[1]}/lake/costs/*/*/*.parquet') GROUP BY ALL)''').fetchall()[0][0]
print(time.monotonic() - t, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""

CONFIG = """
[rebill]
home = "{home}"
memory_limit = "2GB"
{tenants}
[[shared]]
name = "Platform"
match = [{{ service = "Amazon Service 7" }}]
allocate = "proportional"

[[pricing]]
service = "Amazon Service 3"
markup = "5%"
"""


def py(code: str, *args: str) -> list[str]:
    root = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                          text=True, cwd=root).stdout.split()


def main() -> None:
    src = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        py(SETUP, str(src), str(home))
        tenants = "\n".join(
            f'[[tenants]]\nid = "t{i}"\nmarkup = "{i % 5 * 5}%"\nmatch = [{{ tag = "team=team{i}" }}]\n'
            for i in range(30))
        cfg = Path(tmp) / "rebill.toml"
        cfg.write_text(CONFIG.format(home=home, tenants=tenants))
        bare = py(BARE, str(home))
        ours = py(RATE, str(cfg))
    print(json.dumps({
        "rated_rows": int(ours[1]), "bare_groups": int(bare[1]),
        "bare_groupby_s": round(float(bare[0]), 2), "rebill_rate_s": round(float(ours[0]), 2),
        "ratio": round(float(ours[0]) / float(bare[0]), 2), "target_ratio": 5,
        "rebill_peak_mb": int(ours[2]), "bare_peak_mb": int(bare[2]),
    }, indent=2))


if __name__ == "__main__":
    main()
