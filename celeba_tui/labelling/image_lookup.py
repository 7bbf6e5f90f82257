"""`celeba label --image NAME`: the stored image of that name, or an error naming near matches."""

from __future__ import annotations

import bisect
import difflib
from typing import TYPE_CHECKING

from celeba_tui.console import printable
from celeba_tui.errors import CelebaError

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore

NEAR_MATCHES = 5
# difflib over 200,000 names takes seconds: compare with the names nearest in sort order.
WINDOW = 1000


def near_names(name: str, names: list[str], limit: int = NEAR_MATCHES) -> list[str]:
    """Pure: up to `limit` of the sorted `names` most like `name` (same file name in another
    folder, the name inside a longer one, then the closest spellings nearby in sort order)."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    found = [n for n in names if stem and stem in n.rsplit("/", 1)[-1]][:limit]
    if len(found) < limit:
        at = bisect.bisect_left(names, name)
        window = names[max(0, at - WINDOW) : at + WINDOW]
        for match in difflib.get_close_matches(name, window, n=limit, cutoff=0.6):
            if match not in found and len(found) < limit:
                found.append(match)
    return found


def find_image(store: LabelStore, name: str) -> str:
    """`name` when the store knows the image (present or not); a CelebaError listing near matches."""
    if store.query("SELECT 1 FROM images WHERE name = ?", [name]):
        return name
    near = near_names(name, store.image_names(present_only=False))
    suggestion = f"; did you mean {', '.join(printable(n) for n in near)}?" if near else ""
    raise CelebaError(f"--image {printable(name)}: no such image in the store{suggestion}")
