"""What reading a FOCUS file found out, kept across runs: an unchanged file is not read again.

Listing a source's periods reads every file its glob matches once: which
billing periods it holds, that every value parses, and how many money values
have digits beyond 12 decimals (rounded, recorded in ``loads``). A nightly
would read every file again although nothing changed. Those facts are kept in
``<home>/state/focus-<source>.json``, each under the file's path, size and
modification time (the identity the load fingerprint uses too) and a digest
of the source's settings (format, layout, mapping): a changed file, or a
changed setting, is read and checked again; an unchanged one costs a stat
call. Only a file that passed its checks is recorded. A missing or unreadable
record file is no error: the files are read as if for the first time.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from rebill.atomic import atomic_write
from rebill.layout import state_dir

log = logging.getLogger("rebill.connectors")

_FORMAT = 1


@dataclass(frozen=True)
class Facts:
    periods: frozenset[str]
    rounded: tuple[int, Decimal]  # money values rounded to 12 decimals, the amount lost


def _identity(path: Path) -> list[object]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


class FileFacts:
    """The recorded facts of one source's files (see the module doc)."""

    def __init__(self, home: Path, source_id: str, settings: str) -> None:
        self._path = state_dir(home) / f"focus-{source_id}.json"
        self._settings = hashlib.sha256(settings.encode()).hexdigest()
        self._files: dict[str, object] = {}
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            if data.get("format") == _FORMAT and data.get("settings") == self._settings:
                self._files = dict(data.get("files", {}))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError, TypeError) as err:
            log.warning("%s: unreadable, its files are read again (%s)", self._path, err)

    def get(self, path: Path) -> Facts | None:
        rec = self._files.get(str(path))
        try:
            if not isinstance(rec, dict) or rec.get("file") != _identity(path):
                return None
            n, amount = rec["rounded"]
            return Facts(frozenset(str(p) for p in rec["periods"]), (int(n), Decimal(amount)))
        except (OSError, KeyError, TypeError, ValueError, ArithmeticError):
            return None

    def put(self, path: Path, facts: Facts) -> None:
        """Record ``facts`` of ``path`` (as it is now); the file is replaced atomically."""
        try:
            identity = _identity(path)
        except OSError:
            return
        # files gone from the folder are forgotten
        self._files = {p: r for p, r in self._files.items() if Path(p).is_file()}
        self._files[str(path)] = {"file": identity, "periods": sorted(facts.periods),
                                  "rounded": [facts.rounded[0], str(facts.rounded[1])]}
        text = json.dumps({"format": _FORMAT, "settings": self._settings,
                           "files": self._files}, sort_keys=True, indent=1)
        try:
            with atomic_write(self._path) as tmp:
                tmp.write_text(text + "\n", encoding="utf-8")
        except OSError as err:  # a read-only home still loads, it only reads again next time
            log.warning("%s: cannot be written (%s)", self._path, err)
