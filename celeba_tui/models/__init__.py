"""Trained networks as files: the uint8-in wrapper, layer summaries, preview figures."""
