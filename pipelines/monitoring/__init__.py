"""Monitoring statistics: plain Python (NumPy, SciPy, pandas), no Django.

- ``drift``: per-column drift tests chosen like Evidently's DataDriftPreset, PSI beside them.
- ``quality``: a window's inputs against the training data's profile.
- ``performance``: the task's metric from ground truth, with a bootstrap interval.
- ``window``: one window's report (the API's shape) from a reference and a current frame.
"""
