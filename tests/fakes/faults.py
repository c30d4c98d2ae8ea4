"""What both billing fakes share: one-shot faults and PHP-style form parsing."""

from __future__ import annotations

import re
import threading
from typing import Any

KINDS = ("500", "error200", "429", "nonjson", "lost", "partial")


def php_parse(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style nested form names (``a[b][0]=v``) into nested dicts (keys as strings)."""
    out: dict[str, Any] = {}
    for name, value in pairs:
        m = re.match(r"^([^\[]+)((?:\[[^\]]*\])*)$", name)
        if not m:
            out[name] = value
            continue
        keys = [m.group(1), *re.findall(r"\[([^\]]*)\]", m.group(2))]
        node = out
        for i, raw_key in enumerate(keys):
            key = raw_key or str(len(node))
            if i == len(keys) - 1:
                node[key] = value
            else:
                node = node.setdefault(key, {})
    return out


class Faults:
    """Per-method one-shot failures: the nth next call of a method fails with ``kind``."""

    def __init__(self) -> None:
        self._plans: dict[str, list[list[Any]]] = {}
        self.lock = threading.Lock()

    def add(self, method: str, kind: str, nth: int = 1) -> None:
        assert kind in KINDS, kind
        with self.lock:
            self._plans.setdefault(method, []).append([nth, kind])

    def clear(self) -> None:
        with self.lock:
            self._plans.clear()

    def take(self, method: str) -> str | None:
        with self.lock:
            plans = self._plans.get(method, [])
            fired = None
            for plan in plans:
                plan[0] -= 1
                if plan[0] == 0 and fired is None:
                    fired = plan[1]
            self._plans[method] = [p for p in plans if p[0] > 0]
            return fired
