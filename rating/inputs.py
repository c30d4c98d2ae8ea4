"""What rating a period reads, as one fingerprint: skip re-rating an unchanged period.

Rating ``P`` depends on the lake files of ``P`` (every source), the
configuration, the FX file, the corrections inputs (the export ledger and the
lines it recorded, and, once an earlier period was exported, the invoice lines
of the rated periods before ``P``), whether the corrections hook ran, and the
rating code. :func:`input_fingerprint` is the sha256 of a canonical JSON of
all of them; it is computed BEFORE rating reads anything and written into the
staged folder (``inputs.json``), so it is published with the outputs it
describes and is never ahead of them: an input that changes while rating runs
changes the next fingerprint, and the period is rated again.

Lake files are named by path relative to the lake root, size and mtime (local)
or the object store's size and modification time, plus the latest successful
load of each (source, period) in ``state/loads.parquet``. Small files (config,
FX, ledger, invoice lines) are hashed by content.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from rebill import __version__
from rebill.config import Config
from rebill.errors import RebillError
from rebill.layout import exports_file, rated_dir, rated_root, state_dir
from rebill.normalize.loads import read_loads
from rebill.normalize.store import lake_of
from rebill.periods import Period
from rebill.rating.fx import fx_path

log = logging.getLogger("rebill.rating")

INPUTS_FILE = "inputs.json"
# Bump when a rated folder's files change shape without a version change: every
# period is then rated again on its next scheduled re-rate.
RATING_FORMAT = 2  # 2: rated_daily.parquet
# exporters.ledger.exported_lines_file (rating sits below the exporters)
EXPORTED_LINES = "exported_lines.parquet"
_CODE = Path(__file__).parent


def _sha(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _code() -> str:
    """The rating code itself: a changed engine re-rates without a version bump."""
    digest = hashlib.sha256()
    for path in sorted(_CODE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _lake(home: Path, period: Period) -> list[list[Any]]:
    lake = lake_of(home)
    files = lake.period_files(period.label)
    if not lake.remote:
        root = Path(lake.root)
        out: list[list[Any]] = []
        for f in files:
            st = Path(f).stat()
            out.append([Path(f).relative_to(root).as_posix(), st.st_size, st.st_mtime_ns])
        return out
    keys = [f.removeprefix("s3://") for f in files]
    try:
        infos = lake.filesystem.get_file_info(keys) if keys else []
    except OSError as err:
        raise RebillError(f"lake {lake.root}: cannot be listed: {str(err).splitlines()[0]}"
                          ) from None
    return [[f, i.size, str(i.mtime) if i.type == pafs.FileType.File else None]
            for f, i in zip(files, infos, strict=True)]


def _loads(home: Path, period: Period) -> list[list[Any]]:
    latest: dict[str, list[Any]] = {}
    for rec in read_loads(home).to_pylist():
        if rec["period"] == period.label and rec["status"] == "ok":
            latest[rec["source"]] = [rec["source"], rec["load_id"], rec["fingerprint"]]
    return [latest[s] for s in sorted(latest)]


def _corrections(home: Path, period: Period) -> dict[str, Any]:
    """The files ``exporters.corrections`` reads for ``period``."""
    ledger = exports_file(home)
    out: dict[str, Any] = {"ledger": _sha(ledger),
                           "exported_lines": _sha(state_dir(home) / EXPORTED_LINES)}
    exported: set[str] = set()
    if ledger.is_file():
        import pyarrow.parquet as pq

        exported = {str(p) for p in pq.read_table(ledger, columns=["period"])["period"].to_pylist()}
    if any(q < period.label for q in exported):
        # an earlier exported period's current lines turn into correction lines here
        out["earlier_lines"] = [
            [d.name, _sha(d / "invoice_lines.parquet")]
            for d in sorted(rated_root(home).glob("period=*"))
            if d.name.removeprefix("period=") < period.label
        ]
    return out


def rating_inputs(cfg: Config, period: Period, corrections: bool) -> dict[str, Any]:
    """Everything rating ``period`` reads (see the module doc), JSON-ready."""
    home = cfg.home
    fx = fx_path(cfg)
    return {
        "period": period.label,
        "rebill": __version__,
        "format": RATING_FORMAT,
        "code": _code(),
        "config": cfg.model_dump(mode="json"),
        "fx": None if fx is None else [fx.name, _sha(fx)],
        "lake": _lake(home, period),
        "loads": _loads(home, period),
        "corrections": _corrections(home, period) if corrections else None,
    }


def input_fingerprint(cfg: Config, period: Period, corrections: bool) -> str:
    text = json.dumps(rating_inputs(cfg, period, corrections), sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def write_fingerprint(staged: Path, fingerprint: str) -> None:
    """Record ``fingerprint`` in the staged folder (published with the outputs)."""
    (staged / INPUTS_FILE).write_text(json.dumps({"fingerprint": fingerprint}) + "\n",
                                      encoding="utf-8")


def stored_fingerprint(home: Path, period: Period) -> str | None:
    """The fingerprint the published folder of ``period`` was rated with (None: none)."""
    path = rated_dir(home, period.label) / INPUTS_FILE
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def unchanged(cfg: Config, period: Period, corrections: bool = True) -> bool:
    """Whether ``period``'s published outputs were rated from exactly today's inputs."""
    stored = stored_fingerprint(cfg.home, period)
    return stored is not None and stored == input_fingerprint(cfg, period, corrections)
