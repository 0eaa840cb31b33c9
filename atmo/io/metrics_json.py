"""Reading the metrics JSON files every scoring job writes: one reader, one set of error messages.

Each experiment's table and summary jobs read JSON objects that an earlier job wrote (scores,
training metrics, a baseline's metrics). A missing file, a file cut short or another kind of file
must stop the reader with one line naming the file, whichever experiment reads it, and so must one
without the keys the reader needs (``required``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from atmo.errors import InputError


def read_json_object(path: str | os.PathLike[str], what: str, required: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`InputError` naming ``what`` it should be, if it is not one
    or lacks any key of ``required``."""
    try:
        value = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(path, f"{what} does not exist") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(path, f"not valid JSON, so not a readable {what} ({error})") from None
    if not isinstance(value, dict):
        raise InputError(path, f"not a {what}: expected a JSON object, got {type(value).__name__}")
    missing = [key for key in required if key not in value]
    if missing:
        raise InputError(path, f"not a {what}: key(s) {missing} missing")
    return value
