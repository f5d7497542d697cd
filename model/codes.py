"""Standard event codes (ACLED, CAMEO, PLOVER) for each label, from the one data file ``event_codes.json``.

>>> codes_for("airstrike")["cameo"][0]["code"]
'195'
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["CODES_FILE", "codes_for", "event_codes"]

CODES_FILE = Path(__file__).resolve().parent / "event_codes.json"


@lru_cache(maxsize=1)
def event_codes() -> dict[str, dict[str, Any]]:
    """The whole mapping: label -> {"acled": [...], "cameo": [...], "plover": [...]}."""
    data = json.loads(CODES_FILE.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def codes_for(label: str) -> dict[str, Any]:
    """Codes of one label; labels outside the mapping (custom label sets) get empty lists."""
    return event_codes().get(label, {"acled": [], "cameo": [], "plover": []})
