"""Benchmark scripts of BENCHMARK.md v1 (never imported by the tsfuse package).

- ``python benchmarks/run.py``: every method on the same windows, results tables and plots;
- ``python benchmarks/speed.py``: tsfuse vs TFT fit / predict time and peak memory.
"""

import os

# see benchmarks/run.py: LightGBM's OpenMP threads must not spin-wait on a shared CPU
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
