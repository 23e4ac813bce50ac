"""Scoring forecasts against what happened: backtests, model comparison and stacking, the registry."""
