"""Files and processes: atomic writes, the safe model-folder format, parallel engines (local, dask)."""
