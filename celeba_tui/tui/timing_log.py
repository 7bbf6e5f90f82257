"""`--timing-log FILE`: one JSON line per key, from key received to the result painted."""

from __future__ import annotations

import json
import threading
from pathlib import Path


class TimingLog:
    """Appends {"kind", "key", "image", "ms", "cpu_ms"} lines, flushed at once (benchmarks read them)."""

    def __init__(self, path: Path):
        """Opened at once: a path that cannot be written is a one-line error before any screen."""
        from celeba_tui.atomic import open_for_append

        self.path = Path(path)
        self._file = open_for_append(self.path)
        self.failed: str | None = None  # why the log stopped, once a write failed
        self._lock = threading.Lock()

    def record(
        self, kind: str, seconds: float, *, key: str | None = None, image: str | None = None, cpu: float | None = None
    ) -> None:
        """`cpu`: process CPU seconds over the same span (what the work cost, whatever the load)."""
        entry = {"kind": kind, "key": key, "image": image, "ms": round(seconds * 1000, 3)}
        if cpu is not None:
            entry["cpu_ms"] = round(cpu * 1000, 3)
        line = json.dumps(entry)
        with self._lock:
            if self.failed is not None:
                return
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except (OSError, ValueError) as exc:
                # A full disk, a FIFO whose reader left: the log stops, the labelling goes on
                # (attack pass 24: the app ended with a traceback and an answer was lost).
                self.failed = f"{self.path}: {getattr(exc, 'strerror', None) or exc}"

    def close(self) -> None:
        with self._lock:
            try:
                self._file.close()
            except OSError:  # what was left in the buffer could not be written: said already
                pass


def read_timing_log(path: Path) -> list[dict]:
    """The records of a timing log (for benchmarks and tests)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
