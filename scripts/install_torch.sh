#!/bin/sh
# Install PyTorch into the given Python's environment unless it is already there.
# Without an NVIDIA GPU, prefer the CPU build: torch==2.13.0 resolves to a local CPU
# wheel on the project's machines; elsewhere the default build is installed.
set -e
PY="$1"
if "$PY" -c "import torch" 2>/dev/null; then
    exit 0
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    "$PY" -m pip install --quiet torch
    exit 0
fi
"$PY" -m pip install --quiet "torch==2.13.0" 2>/dev/null || "$PY" -m pip install --quiet torch
