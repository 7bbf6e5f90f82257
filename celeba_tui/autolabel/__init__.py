"""The ensemble that labels the rest: inference sessions, the study's rules, calibration, the run."""
