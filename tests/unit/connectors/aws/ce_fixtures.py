"""Cost Explorer answers (as AWS sends them) queued into moto, several pages."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import requests

MOTO_CE = "http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results"
GROUPS = [
    ("111111111111", "Amazon Elastic Compute Cloud - Compute", "12.3456789012"),
    ("111111111111", "Amazon Simple Storage Service", "0.0101516483"),
    ("222222222222", "Amazon Elastic Compute Cloud - Compute", "7.5"),
    ("222222222222", "Tax", "1.99"),
]


def day_results(start: date, days: int, estimated_from: int | None = None) -> list[dict[str, Any]]:
    out = []
    for i in range(days):
        d = start + timedelta(days=i)
        out.append({
            "TimePeriod": {"Start": d.isoformat(), "End": (d + timedelta(days=1)).isoformat()},
            "Total": {},
            "Groups": [
                {"Keys": [acct, svc],
                 "Metrics": {"UnblendedCost": {"Amount": str(Decimal(amt) * (i + 1)),
                                               "Unit": "USD"}}}
                for acct, svc, amt in GROUPS
            ],
            "Estimated": estimated_from is not None and i >= estimated_from,
        })
    return out


def pages(results: list[dict[str, Any]], per_page: int) -> list[dict[str, Any]]:
    chunks = [results[i:i + per_page] for i in range(0, len(results), per_page)]
    out = []
    for n, chunk in enumerate(chunks):
        page: dict[str, Any] = {"ResultsByTime": chunk, "DimensionValueAttributes": [],
                                "GroupDefinitions": [
                                    {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
                                    {"Type": "DIMENSION", "Key": "SERVICE"}]}
        if n + 1 < len(chunks):
            page["NextPageToken"] = f"page-{n + 2}"
        out.append(page)
    return out


def queue(results: list[dict[str, Any]]) -> None:
    """POST to moto's API: each distinct request body takes the next queued answer."""
    resp = requests.post(MOTO_CE, json={"results": results}, timeout=10)
    assert resp.status_code == 201


def expected(results: list[dict[str, Any]]) -> dict[tuple[str, str, str], Decimal]:
    out: dict[tuple[str, str, str], Decimal] = {}
    for entry in results:
        for g in entry["Groups"]:
            key = (g["Keys"][0], g["Keys"][1], entry["TimePeriod"]["Start"])
            out[key] = out.get(key, Decimal(0)) + Decimal(g["Metrics"]["UnblendedCost"]["Amount"])
    return out
