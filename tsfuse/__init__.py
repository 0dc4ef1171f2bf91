"""tsfuse: forecast how open-source projects evolve (activity, trend, level) from history + README."""

__version__ = "0.1.0"
