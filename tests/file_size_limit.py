"""Running a call in a fresh interpreter whose files may grow to a limit (`ulimit -f`)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """import resource, sys
from pathlib import Path
from celeba_tui.errors import CelebaError
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
{imports}
try:
    {call}
except CelebaError as exc:
    print('refused:', exc)
"""


def printed_under_file_size_limit(imports: str, call: str, args: list, limit: int = 100_000) -> str:
    """What `call` (one line of Python that reads `sys.argv[1:]`) printed, run after `imports`
    with files limited to `limit` bytes: its CelebaError as "refused: ...". A traceback fails."""
    script = SCRIPT.format(limit=limit, imports=imports, call=call)
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout
