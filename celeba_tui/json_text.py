"""JSON as strict parsers read it: a NaN or infinite number is written as null.

Python's json writes `NaN` and `Infinity`, which JavaScript's `JSON.parse`, jq and most
other parsers refuse: every command's `--json` (`cli.app.print_json`) and the demo's
report/demo.json go through here.
"""

from __future__ import annotations

import json
import math
from typing import Any


def strict_json(data: Any, **options) -> str:
    """`data` as JSON text (json.dumps' `options`), every float that is not finite as null."""
    try:  # most data holds no such float: the walk that replaces them costs a third of the time
        return json.dumps(data, allow_nan=False, **options)
    except ValueError:
        return json.dumps(finite(data), allow_nan=False, **options)


def finite(value: Any) -> Any:
    """`value` with every float that is not finite replaced by None, in lists and dicts too."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value
