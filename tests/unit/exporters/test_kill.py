"""A real SIGKILL in the middle of an export, then a re-run: one invoice per tenant."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from rebill.config import Config
from rebill.exporters import export_period
from rebill.retry import Retry
from tests.fakes.fossbilling import FakeFossBilling
from tests.unit.exporters.conftest import FB_ENV, REPO_ROOT, expected

SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    from pathlib import Path
    from rebill.config import parse_config
    from rebill.exporters import export_period
    data = json.loads(sys.argv[1])
    cfg = parse_config(data, "test.toml", Path(sys.argv[2]))

    def hook(step):
        if step == sys.argv[3]:
            os.kill(os.getpid(), signal.SIGKILL)

    export_period(cfg, "2026-10", "fossbilling", hook=hook, echo=lambda s: None)
""")


@pytest.mark.parametrize("step", ["invoice_prepared", "remote_done"])
def test_sigkill_mid_export_converges(cfg: Config, fossbilling: FakeFossBilling, retry: Retry,
                                      step: str) -> None:
    assert cfg.exporters.fossbilling is not None
    data = {"rebill": {"home": str(cfg.home)},
            "tenants": [{"id": t.id, "currency": t.currency,
                         "billing": {"email": t.billing.email}} for t in cfg.tenants],
            "exporters": {"fossbilling": cfg.exporters.fossbilling.model_dump(mode="json")}}
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), FB_ENV: fossbilling.token}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(data), str(cfg.base_dir),
                           step], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    export_period(cfg, "2026-10", "fossbilling", retry=retry, echo=lambda s: None)
    for tenant in ("acme", "globex"):
        client = fossbilling.client_by_aid(tenant)
        assert client is not None
        invoices = fossbilling.invoices_of(client["id"])
        assert [[round(ln["price"], 2) for ln in inv["lines"]] for inv in invoices] == [
            [float(a) for a in expected(tenant)]]
