"""One command for every scale benchmark, side by side in one run on the same files.

    .venv/bin/python bench/run.py                       # 1M, 3M, 10M rows + CUR 1M, 3M, 10M
    .venv/bin/python bench/run.py --rows 100000 --no-cur --repeat 1  # what CI runs
    .venv/bin/python bench/run.py --rows 100000 --cur-rows 100000,1000000

For each size it generates (once, cached under ``--out``) a FOCUS month of
``gen_focus.py`` with ``--tenants`` team tags, then times, each as its own
process: bare DuckDB reading, transforming and writing the same rows (the
ingest limit), ``rebill ingest``, a bare DuckDB group-by of the lake (the
rating limit), ``rebill rate`` and a no-op ``rebill nightly`` (nothing new).
The config has ``--tenants`` tenants matched by tag, one proportional pool
taking 1 row in 40 and one pricing rule.

Unless ``--no-cur``, for each ``--cur-rows`` size (default 1M, 3M, 10M) it
also generates a legacy CUR CSV.gz month (``gen_cur.py``, cached) and times
``rebill ingest`` of it (an ``aws_cur`` source reading the local copy) against
the FinOps Foundation's ``focus-converter`` 1.0 converting the same file to
FOCUS Parquet. focus-converter is no dependency of rebill: it is installed
once into its own venv under ``--out``; if it cannot be installed or run, or
the month needs more memory than RAM and swap hold, the table says "not
measured" and why.

Each step and its limit (or peer) run in turn ``--repeat`` times (default 3;
an ingest into a fresh home each time): the table shows the median wall time,
rows/s, the median of the run-by-run ratios and the largest peak RSS of each
process (``wait4``), on stdout and in ``--out/results.md``.
The CLI runs with ``--engine local`` (no Prefect server start-up in the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
REBILL = str(Path(PY).with_name("rebill"))
TODAY = "2026-11-03"

BARE_INGEST = """
import sys, duckdb
src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect(); con.execute("SET TimeZone='UTC'"); con.execute("SET memory_limit='1536MB'")
con.execute('SET enable_progress_bar=false')
con.execute(f'''COPY (SELECT *, 'bench' AS x_source,
  lpad(to_hex(hash(BilledCost, ChargeDescription, ResourceId)), 16, '0') AS x_row_id,
  'load' AS x_load_id FROM read_parquet('{src}/*.parquet')
  WHERE ChargePeriodStart < ChargePeriodEnd) TO '{out}' (FORMAT parquet, COMPRESSION zstd)''')
"""

BARE_GROUPBY = """
import sys, duckdb
con = duckdb.connect(); con.execute("SET enable_progress_bar=false"); con.execute("SET TimeZone='UTC'")
con.execute(f'''SELECT count(*) FROM (SELECT Tags['team'] AS tenant,
  CAST(ChargePeriodStart AS DATE) AS day, ServiceName, sum(BilledCost)
  FROM read_parquet('{sys.argv[1]}/lake/costs/*/*/*.parquet') GROUP BY ALL)''').fetchall()
"""

CONFIG = """[rebill]
home = "{home}"
memory_limit = "2GB"
close_day = 5

[sources.bench]
type = "focus"
path = "{data}/*.parquet"
{tenants}
[[shared]]
name = "Platform"
match = [{{ service = "Amazon Service 7" }}]
allocate = "proportional"

[[pricing]]
service = "Amazon Service 3"
markup = "5%"
"""


CUR_CONFIG = """[rebill]
home = "{home}"
memory_limit = "2GB"

[sources.aws]
type = "aws_cur"
path = "{data}"
prefix = "cur"
export_name = "rebill"
layout = "legacy"
"""

FOCUS_CONVERTER = "focus-converter==1.0.*"
# Its dependencies are open-ended upstream; today's releases break it at start-up:
# pandera 0.17 imports multimethod.overload (gone in 2.0), typer 0.9 fails on click 8.2.
FOCUS_CONVERTER_PINS = ("multimethod<2", "click<8.2")


@dataclass
class Step:
    size: str
    name: str
    seconds: float | None  # None: not measured (``note`` says why)
    peak_mb: float
    rows: int
    against: str = ""
    ratio: float | None = None
    note: str = ""


class ProcessFailedError(Exception):
    """A measured process exited non-zero."""

    def __init__(self, cmd: list[str], code: int, output: str) -> None:
        super().__init__(f"failed ({code}): {' '.join(cmd)}\n{output[-2000:]}")
        self.code = code
        self.output = output


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
            ) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one process; raises on a non-zero exit."""
    try:
        return _measure(cmd, env, cwd)
    except ProcessFailedError as err:
        raise SystemExit(str(err)) from None


def _measure(cmd: list[str], env: dict[str, str] | None, cwd: Path) -> tuple[float, float]:
    start = time.monotonic()
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT) as proc:
        out = proc.stdout.read() if proc.stdout else b""
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise ProcessFailedError(cmd, proc.returncode, out.decode(errors="replace"))
    return wall, usage.ru_maxrss / 1024


@dataclass
class Pair:
    """A step and its limit (or peer), timed in turn (B A B A ...)."""

    seconds: float  # median wall of the step
    peak_mb: float  # largest peak of the step
    limit_seconds: float  # median wall of the limit
    limit_peak_mb: float
    ratio: float  # median of the run-by-run ratios (pairing cancels the machine's drift)


def paired(step: list[str], limit: list[str], repeat: int, step_env: dict[str, str] | None = None,
           before: Callable[[], None] | None = None, cwd: Path = ROOT) -> Pair:
    """Time ``step`` against ``limit`` ``repeat`` times in turn; ``before`` runs before
    each ``step`` (e.g. a fresh home, so an ingest is never a no-op)."""
    runs: list[tuple[float, float, float, float]] = []
    for _ in range(repeat):
        ls, lmb = measure(limit, cwd=cwd)
        if before is not None:
            before()
        ss, smb = measure(step, step_env, cwd)
        runs.append((ss, smb, ls, lmb))
    return Pair(statistics.median(r[0] for r in runs), max(r[1] for r in runs),
                statistics.median(r[2] for r in runs), max(r[3] for r in runs),
                statistics.median(r[0] / r[2] for r in runs))


def label(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else f"{rows // 1000}k"


def focus_data(out: Path, rows: int, tenants: int) -> Path:
    data = out / f"focus-{label(rows)}-t{tenants}"
    if not (data / ".done").exists():
        shutil.rmtree(data, ignore_errors=True)
        files = max(1, rows // 1_000_000)
        subprocess.run([PY, str(ROOT / "bench/gen_focus.py"), "--rows", str(rows), "--files",
                        str(files), "--teams", str(tenants), "--out", str(data)], check=True,
                       stdout=subprocess.DEVNULL)
        (data / ".done").write_text("")
    return data


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.update({"REBILL_ENGINE": "local", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
              "DO_NOT_TRACK": "1"})
    return e


def run_focus(out: Path, rows: int, tenants: int, repeat: int) -> list[Step]:
    size = label(rows)
    data = focus_data(out, rows, tenants)
    work = out / f"run-{size}"
    shutil.rmtree(work, ignore_errors=True)
    home = work / "home"
    work.mkdir(parents=True)
    tenant_toml = "\n".join(
        f'[[tenants]]\nid = "t{i}"\nmarkup = "{i % 5 * 5}%"\nmatch = [{{ tag = "team=team{i}" }}]\n'
        for i in range(tenants))
    cfg = work / "rebill.toml"
    cfg.write_text(CONFIG.format(home=home, data=data, tenants=tenant_toml))
    c = ["--config", str(cfg)]
    steps: list[Step] = []
    span = ["--start", "2026-10-01", "--end", "2026-11-01"]
    ingest = paired([REBILL, "ingest", *c, *span, "--engine", "local"],
                    [PY, "-c", BARE_INGEST, str(data), str(work / "bare.parquet")], repeat, env(),
                    before=lambda: shutil.rmtree(home, ignore_errors=True))
    steps.append(Step(size, "bare DuckDB read+transform+write", ingest.limit_seconds,
                      ingest.limit_peak_mb, rows))
    steps.append(Step(size, "rebill ingest", ingest.seconds, ingest.peak_mb, rows, "bare write",
                      ingest.ratio))
    rate = paired([REBILL, "rate", *c, "--period", "2026-10"],
                  [PY, "-c", BARE_GROUPBY, str(home)], repeat, env())
    steps.append(Step(size, "bare DuckDB group-by", rate.limit_seconds, rate.limit_peak_mb, rows))
    steps.append(Step(size, "rebill rate", rate.seconds, rate.peak_mb, rows, "bare group-by",
                      rate.ratio))
    s, mb = measure([REBILL, "ingest", *c, *span, "--engine", "local"], env())
    steps.append(Step(size, "no-op re-ingest", s, mb, rows))
    nightly = [REBILL, "nightly", *c, "--today", TODAY, "--engine", "local"]
    measure(nightly, env())  # the first one rates the open month (November, empty) once
    outputs = sorted((home / "lake" / "costs").glob("source=*/*/*.parquet")) + sorted(
        (home / "rated").glob("period=*/*"))
    before = [(p, p.stat().st_mtime_ns) for p in outputs]
    s, mb = measure(nightly, env())
    rewritten = sum(not p.exists() or p.stat().st_mtime_ns != t for p, t in before)
    steps.append(Step(size, f"no-op nightly ({rewritten} of {len(before)} lake and rated "
                            "files rewritten)", s, mb, rows))
    return steps


def cur_data(out: Path, rows: int) -> Path:
    """The cached legacy CUR month of ``rows`` rows (the folder holding ``cur/``)."""
    data = out / f"cur-{label(rows)}"
    if not (data / ".done").exists():
        shutil.rmtree(data, ignore_errors=True)
        subprocess.run([PY, str(ROOT / "bench/gen_cur.py"), "--rows", str(rows), "--out",
                        str(data)], check=True, stdout=subprocess.DEVNULL)
        (data / ".done").write_text("")
    return data


def focus_converter(out: Path) -> tuple[Path | None, str]:
    """(focus-converter executable, "") from its own cached venv, or (None, why not)."""
    venv = out / ".venv-focus-converter"
    exe = venv / "bin" / "focus-converter"
    if (venv / ".done").exists():
        return exe, ""
    shutil.rmtree(venv, ignore_errors=True)
    print(f"installing {FOCUS_CONVERTER} into {venv} (once)...", flush=True)
    for cmd in ([PY, "-m", "venv", str(venv)],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                 "--disable-pip-version-check", FOCUS_CONVERTER, *FOCUS_CONVERTER_PINS]):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
            errors = [ln for ln in lines if ln.startswith("ERROR")] or lines or ["no output"]
            return None, f"cannot install {FOCUS_CONVERTER}: {errors[0].strip()[:200]}"
    (venv / ".done").write_text("")
    return exe, ""


# focus-converter holds the month in memory: 4.0 GB at 1M rows, 11 GB at 3M, 24 GB of RAM
# and 6 GB of swap at 10M (measured); it is not started where it cannot fit.
FOCUS_CONVERTER_GB_PER_M = 3.7


def _memory_short(rows: int) -> str:
    """Why focus-converter cannot run on ``rows`` here (RAM and swap), or ""."""
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        have = sum(int(info[k].split()[0]) for k in ("MemTotal", "SwapTotal")) / 2**20
    except (OSError, KeyError, ValueError):
        return ""  # not Linux: try it
    need = 1 + FOCUS_CONVERTER_GB_PER_M * rows / 1e6
    if have >= need:
        return ""
    return (f"focus-converter needs about {need:.0f} GB at this size and this machine has "
            f"{have:.0f} GB of RAM and swap (add swap: bench/README.md)")


def run_cur(out: Path, rows: int, repeat: int) -> list[Step]:
    """``rebill ingest`` of a legacy CUR CSV.gz month against focus-converter on the same file."""
    size = label(rows)
    data = cur_data(out, rows)
    (csv_gz,) = sorted(data.glob("cur/*/*/*/*.csv.gz"))
    work = out / f"run-cur-{size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cfg = work / "rebill.toml"
    cfg.write_text(CUR_CONFIG.format(home=work / "home", data=data))
    ingest = [REBILL, "ingest", "--config", str(cfg), "--start", "2023-11-01",
              "--end", "2023-11-30", "--engine", "local"]
    name = "rebill ingest, legacy CUR CSV.gz"
    peer = "focus-converter 1.0 CSV.gz -> FOCUS Parquet (peer)"
    exe, why = focus_converter(out)
    if exe is not None and (short := _memory_short(rows)):
        exe, why = None, short
    if exe is not None:
        # the FOCUS columns only, as rebill's lake keeps them (source columns: more to write)
        cmd = [str(exe), "convert", "--provider", "aws-cur", "--data-format", "csv",
               "--data-path", str(csv_gz), "--export-path", str(work / "focus-converter"),
               "--no-export-include-source-columns"]
        try:
            _measure(cmd, None, work)  # it runs at all (else: why not, below)
        except ProcessFailedError as err:
            last = [ln.strip() for ln in err.output.splitlines() if ln.strip()] or ["no output"]
            why = f"focus-converter exited with {err.code}: {last[-1][:200]}"
    if why:
        print(f"CUR {size}: focus-converter not measured: {why}", flush=True)
        s, mb = measure(ingest, env())
        return [Step(size, name, s, mb, rows),
                Step(size, peer, None, 0, rows, note=f"not measured: {why}")]
    pair = paired(ingest, cmd, repeat, env(), cwd=work,
                  before=lambda: shutil.rmtree(work / "home", ignore_errors=True))
    return [Step(size, name, pair.seconds, pair.peak_mb, rows, "focus-converter", pair.ratio),
            Step(size, peer, pair.limit_seconds, pair.limit_peak_mb, rows)]


def table(steps: list[Step]) -> str:
    out = ["| size | step | wall s | rows/s | ratio | peak RSS MB |",
           "|---|---|---:|---:|---:|---:|"]
    for s in steps:
        if s.seconds is None:
            out.append(f"| {s.size} | {s.name} | {s.note} | | | |")
            continue
        ratio = (f"{s.ratio:.2f}x {s.against}" if s.ratio is not None
                 else "peer" if "(peer)" in s.name else "limit" if s.name.startswith("bare")
                 else "")
        out.append(f"| {s.size} | {s.name} | {s.seconds:.2f} | {s.rows / s.seconds:,.0f} | "
                   f"{ratio} | {s.peak_mb:,.0f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1000000,3000000,10000000",
                    help="comma-separated FOCUS month sizes")
    ap.add_argument("--tenants", type=int, default=200)
    ap.add_argument("--no-cur", action="store_true",
                    help="skip the legacy CUR month against focus-converter (CI)")
    ap.add_argument("--cur-rows", default="1000000,3000000,10000000",
                    help="comma-separated CUR month sizes (focus-converter holds a month in "
                         "memory: about 4 GB a million rows; a size that does not fit RAM and "
                         "swap is not measured)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each step and its limit, in turn (medians are shown)")
    args = ap.parse_args()
    repeat = max(1, args.repeat)
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    steps: list[Step] = []
    for rows in (int(r) for r in args.rows.split(",")):
        steps += run_focus(args.out, rows, args.tenants, repeat)
        print(table(steps), flush=True)
    for rows in () if args.no_cur else (int(r) for r in args.cur_rows.split(",")):
        steps += run_cur(args.out, rows, repeat)
        print(table(steps), flush=True)
    machine = (f"{platform.node()}: {os.cpu_count()} cores, "
               f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GB RAM, "
               f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at end")
    text = (f"{table(steps)}\n\nMachine: {machine}\nCommand: bench/run.py "
            f"{' '.join(sys.argv[1:])}\n")
    (args.out / "results.md").write_text(text)
    (args.out / "results.json").write_text(json.dumps([s.__dict__ for s in steps], indent=2))
    print(text)


if __name__ == "__main__":
    main()
