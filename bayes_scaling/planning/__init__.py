"""Decisions made before spending compute: which runs to add to a ladder (``suggest_runs``)."""
