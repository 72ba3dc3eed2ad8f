"""The event JSON in infra/events/ is shared by `sam local invoke`, `sam remote invoke` and these tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "infra" / "events"


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return copy.deepcopy(loaded)


def eventbridge_created(
    bucket: str, key: str, etag: str = "e1", size: int = 5000, time: str = "2026-11-22T12:00:00Z"
) -> dict[str, Any]:
    e = event("eventbridge-object-created.json")
    e["detail"]["bucket"]["name"] = bucket
    e["detail"]["object"].update(key=key, etag=etag, size=size)
    e["time"] = time
    return e


def records_created(
    bucket: str, encoded_keys: list[str], etag: str = "e1", time: str = "2026-11-22T12:00:00.000Z"
) -> dict[str, Any]:
    template = event("s3-records-object-created.json")["Records"][0]
    records = []
    for key in encoded_keys:
        r = copy.deepcopy(template)
        r["s3"]["bucket"]["name"] = bucket
        r["s3"]["object"].update(key=key, eTag=etag)
        r["eventTime"] = time
        records.append(r)
    return {"Records": records}
