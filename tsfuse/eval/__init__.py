"""Scoring: BENCHMARK.md metrics and the baselines tsfuse is measured against."""
