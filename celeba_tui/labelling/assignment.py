"""How work is spread among people (pure functions).

`--assign I/N --overlap F`: every image gets one owner out of N annotators from a hash
of its name; a fraction F of the images also gets a second, different owner, so
agreement can be measured on purpose and nowhere else. The hash is a keyed BLAKE2b of
the name only, so every machine, Python version and image order gives the same shares.

`personal_order`: each person's own fixed order of a list of images (a hash of the
person's name and each image's), so people who work one queue at once without shares
start in different places and rarely meet; the same person resumes in the same order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from celeba_tui.errors import CelebaError

_PERSON = b"celeba-assign"
_ORDER = b"celeba-order"
_ASSIGN_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


# More annotators than a share of the images could tell apart; also keeps N a 64-bit number.
MAX_ANNOTATORS = 1_000_000


@dataclass(frozen=True)
class Assignment:
    """Annotator `index` (1-based) of `count`, with `overlap` of images doubly assigned."""

    index: int
    count: int
    overlap: float = 0.0

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise CelebaError(f"--assign {self.index}/{self.count}: I must be between 1 and N")
        if self.count > MAX_ANNOTATORS:
            raise CelebaError(f"--assign {self.index}/{self.count}: N must be at most {MAX_ANNOTATORS:,}")
        if not 0.0 <= self.overlap <= 1.0:
            raise CelebaError(f"--overlap {self.overlap}: must be between 0 and 1")
        if self.overlap > 0 and self.count < 2:
            raise CelebaError("--overlap needs at least two annotators (--assign I/N with N >= 2)")

    @property
    def expected_share(self) -> float:
        """The fraction of all images this annotator sees, on average."""
        return (1.0 + self.overlap) / self.count

    def mask(self, names: Sequence[str]) -> np.ndarray:
        """Boolean array: which of `names` belong to this annotator's share."""
        primary, secondary = owners(names, self.count, self.overlap)
        me = self.index - 1
        return (primary == me) | (secondary == me)

    def doubled(self, names: Sequence[str]) -> np.ndarray:
        """Boolean array: which of `names` are overlap images (two owners)."""
        _, secondary = owners(names, self.count, self.overlap)
        return secondary >= 0


def parse_assign(text: str, overlap: float = 0.0) -> Assignment:
    """`"2/3"` -> Assignment(2, 3, overlap); a CelebaError naming the value otherwise."""
    match = _ASSIGN_RE.match(text or "")
    if not match:
        raise CelebaError(f"--assign {text!r}: expected I/N, e.g. 1/3 (annotator 1 of 3)")
    return Assignment(int(match[1]), int(match[2]), float(overlap))


def name_hashes(names: Sequence[str]) -> np.ndarray:
    """Two independent uint64 hashes per name, shape (len(names), 2)."""
    if len(names) == 0:
        return np.zeros((0, 2), dtype=np.uint64)
    digests = b"".join(hashlib.blake2b(name.encode("utf-8"), digest_size=16, person=_PERSON).digest() for name in names)
    return np.frombuffer(digests, dtype="<u8").reshape(-1, 2).astype(np.uint64)


def owners(names: Sequence[str], count: int, overlap: float) -> tuple[np.ndarray, np.ndarray]:
    """(primary, secondary) owner index per name, 0-based; secondary is -1 when single."""
    hashes = name_hashes(names)
    primary = (hashes[:, 0] % np.uint64(count)).astype(np.int64)
    secondary = np.full(len(names), -1, dtype=np.int64)
    if count < 2 or overlap <= 0:
        return primary, secondary
    # The high bits decide overlap, the low bits (already used mod N) the owner.
    uniform = (hashes[:, 1] >> np.uint64(11)).astype(np.float64) / float(2**53)
    doubled = uniform < overlap
    offset = 1 + ((hashes[:, 1] & np.uint64(0x7FF)) % np.uint64(count - 1)).astype(np.int64)
    secondary[doubled] = (primary[doubled] + offset[doubled]) % count
    return primary, secondary


def personal_order(names: Sequence[str], person: str) -> np.ndarray:
    """Positions of `names` in `person`'s own order: a permutation fixed by the two names.

    Each image's place depends only on its name and the person's, so an image done in the
    meantime leaves the order of the rest as it was (resuming goes on where it stopped).
    """
    if len(names) == 0:
        return np.zeros(0, dtype=np.int64)
    key = hashlib.blake2b(person.encode("utf-8"), digest_size=32).digest()
    digests = b"".join(
        hashlib.blake2b(name.encode("utf-8"), digest_size=8, key=key, person=_ORDER).digest() for name in names
    )
    ranks = np.frombuffer(digests, dtype="<u8")
    return np.lexsort((np.arange(len(names)), ranks))  # ties (never seen) by position
