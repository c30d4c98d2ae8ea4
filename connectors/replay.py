"""Replay bundled DigitalOcean and Linode API answers on loopback, for the demo.

``rebill demo`` has no cloud accounts, yet it should ingest the two
invoice-based sources through their real SDKs and the production code path.
:func:`serve_samples` starts one local server that answers the API calls the
connectors make from ``data/samples/{digitalocean,linode}/api.json`` and
yields the ``[sources.*]`` tables pointing at it (``endpoint``). pydo refuses
a bearer token over plain HTTP, so the server speaks HTTPS with a throw-away
CA made on the spot; while the context is open ``REQUESTS_CA_BUNDLE`` names
that CA and the token variables hold dummy tokens (all restored on exit).
Nothing here weakens TLS for real endpoints.

Usage::

    with serve_samples(DATA / "samples") as sources:
        ...  # sources == {"digitalocean": {...}, "linode": {...}}
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DEMO_TOKEN = "rebill-demo-replay"  # noqa: S105 (a dummy the replay server accepts)


def _write_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a 127.0.0.1 certificate it signed: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rebill demo replay CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return paths


def _answer(do: dict[str, Any], linode: dict[str, Any], path: str) -> tuple[int, Any]:
    """The recorded answer for ``path`` (every list on one page)."""
    if path == "/v2/account":
        return 200, {"account": do["account"]}
    if path == "/v2/customers/my/invoices":
        return 200, {"invoices": do["invoices"], "invoice_preview": do["invoice_preview"],
                     "links": {}, "meta": {"total": len(do["invoices"])}}
    prefix = "/v2/customers/my/invoices/"
    if path.startswith(prefix) and path[len(prefix):] in do["invoice_items"]:
        items = do["invoice_items"][path[len(prefix):]]
        return 200, {"invoice_items": items, "links": {}, "meta": {"total": len(items)}}
    if path == "/v4/account":
        return 200, linode["account"]
    rows: list[Any] | None = None
    if path == "/v4/account/invoices":
        rows = linode["invoices"]
    elif path.startswith("/v4/account/invoices/") and path.endswith("/items"):
        rows = linode["invoice_items"].get(path.split("/")[4])
    if rows is not None:
        return 200, {"data": rows, "page": 1, "pages": 1, "results": len(rows)}
    return 404, {"id": "not_found", "errors": [{"reason": "Not found"}]}


@contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def serve_samples(samples: Path) -> Iterator[dict[str, dict[str, str]]]:
    """Serve ``samples``' recorded API answers; yield the demo's source tables."""
    do = json.loads((samples / "digitalocean" / "api.json").read_text())
    linode = json.loads((samples / "linode" / "api.json").read_text())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {DEMO_TOKEN}":
                status, body = 401, {"id": "unauthorized", "errors": [{"reason": "Invalid Token"}]}
            else:
                status, body = _answer(do, linode, urlparse(self.path).path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with tempfile.TemporaryDirectory(prefix="rebill-replay-") as tmp:
        ca, cert, key = _write_tls(Path(tmp))
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        url = f"https://127.0.0.1:{httpd.server_address[1]}"
        env = {"REQUESTS_CA_BUNDLE": str(ca), "REBILL_DEMO_DO_TOKEN": DEMO_TOKEN,
               "REBILL_DEMO_LINODE_TOKEN": DEMO_TOKEN}
        try:
            with _env(env):
                yield {
                    "digitalocean": {"type": "digitalocean", "endpoint": url,
                                     "token_env": "REBILL_DEMO_DO_TOKEN"},
                    "linode": {"type": "linode", "endpoint": f"{url}/v4",
                               "token_env": "REBILL_DEMO_LINODE_TOKEN"},
                }
        finally:
            httpd.shutdown()
            httpd.server_close()
