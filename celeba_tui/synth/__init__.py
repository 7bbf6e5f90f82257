"""Synthetic CelebA: a procedural renderer of faces with known pose and light, and simulated annotators.

Real CelebA cannot be downloaded here and is never needed: demo, tests and benchmarks
run on this data, and with ground truth every step's accuracy is measurable. See
docs/synthetic-data.md for the model, the class thresholds and the annotators.
"""
