#!/bin/sh
# Install one onnxruntime build into the given Python's environment unless one is there.
# With a working NVIDIA GPU: onnxruntime-gpu (CUDA and TensorRT providers, CPU included).
# Elsewhere: the small CPU build. Never both: they install the same `onnxruntime` module.
# To switch an existing CPU venv to the GPU build, see the README's "GPU notes".
set -e
PY="$1"
if "$PY" -c "import onnxruntime" 2>/dev/null; then
    exit 0
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    "$PY" -m pip install --quiet "onnxruntime-gpu>=1.17"
else
    "$PY" -m pip install --quiet "onnxruntime>=1.17"
fi
