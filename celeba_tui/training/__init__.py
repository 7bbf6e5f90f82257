"""Training: split, decoded-image cache, loop, early stopping, run directories, report."""
