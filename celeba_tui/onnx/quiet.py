"""Silencing the exporter's and the quantiser's chatter while they run."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def quiet(logger_name: str) -> Iterator[None]:
    """Errors only from this logger, and no Python warnings, inside the block.

    The dynamo exporter ("torch.onnx") logs warnings about optional packages
    (torchvision) and deprecations; onnxruntime's quantiser (the root logger) notes
    every tensor it leaves alone.
    """
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
