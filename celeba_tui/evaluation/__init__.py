"""Measuring labels against ground truth: precision-coverage curves, calibration, and the
ceiling an oracle with a careful annotator's noise would reach (benchmarks, the demo's report)."""
