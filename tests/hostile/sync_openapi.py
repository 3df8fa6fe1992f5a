"""Copy what cds_service/openapi.json repeats from elsewhere back into it.

The request and response JSON Schemas (cds_service/schemas/) become components CdsRequest,
CdsResponse and CdsCard, and the service ids (hooks/*.json) the ServiceId enum. The rest of
the document is written by hand. test_openapi_document.py fails when a copy is stale; then run

    .venv/bin/python -m tests.hostile.sync_openapi
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = ROOT / "cds_service" / "openapi.json"
SCHEMAS = ROOT / "cds_service" / "schemas"
HOOKS = ROOT / "hooks"
CARD_REF = "#/components/schemas/CdsCard"


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _card_refs(node: Any) -> Any:
    """'#/$defs/card' (inside the response schema) -> '#/components/schemas/CdsCard'."""
    if isinstance(node, dict):
        return {key: (CARD_REF if key == "$ref" and value == "#/$defs/card" else _card_refs(value))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_card_refs(value) for value in node]
    return node


def synced(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with the copies refreshed from the schema files and hook definitions."""
    doc = copy.deepcopy(doc)
    request = _read(SCHEMAS / "cds-request.schema.json")
    response = _read(SCHEMAS / "cds-response.schema.json")
    skip = ("$schema", "$id", "$defs")
    schemas = doc["components"]["schemas"]
    schemas["CdsRequest"] = {k: v for k, v in request.items() if k not in skip}
    schemas["CdsResponse"] = _card_refs({k: v for k, v in response.items() if k not in skip})
    schemas["CdsCard"] = response["$defs"]["card"]
    ids = sorted(_read(path)["id"] for path in HOOKS.glob("*.json"))
    doc["components"]["parameters"]["ServiceId"]["schema"]["enum"] = ids
    return doc


def main() -> None:
    doc = _read(OPENAPI_PATH)
    new = synced(doc)
    if new != doc:
        OPENAPI_PATH.write_text(json.dumps(new, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf-8")
        print(f"updated {OPENAPI_PATH.relative_to(ROOT)}")
    else:
        print(f"{OPENAPI_PATH.relative_to(ROOT)} is up to date")


if __name__ == "__main__":
    main()
