"""Which images a run's weights learnt from: `runs/RUN/trained-on.json`.

Its train part: settled labels, conflicts learnt as soft targets, automatic labels. A
model measured later on "held-out" labels (`celeba autolabel --target-precision`) leaves
these out, whatever the split has become since (`train --new-split`, a conflict settled
into the validation split).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path

TRAINED_ON_FILE = "trained-on.json"
MAX_TRAINED_ON_BYTES = 256 * 1024 * 1024  # 200,000 names of CelebA's length are ~3 MB


def write_trained_on(run_path: Path, images: Iterable[str]) -> None:
    """Record the images the run's weights learn from (see the module)."""
    from celeba_tui.training.run_dir import write_json

    write_json(Path(run_path) / TRAINED_ON_FILE, {"images": sorted(str(image) for image in images)})


def trained_on(run_path: Path) -> set[str] | None:
    """The images a run recorded that it trained on; None where it did not say (an older
    run, a run folder that is not here, a file that is not a regular file of the form)."""
    path = Path(run_path) / TRAINED_ON_FILE
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_TRAINED_ON_BYTES:
            return None
        images = json.loads(path.read_text(encoding="utf-8"))["images"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    if not isinstance(images, list) or not all(isinstance(image, str) for image in images):
        return None
    return set(images)
