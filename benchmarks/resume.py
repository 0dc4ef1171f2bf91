"""Resume a stopped benchmark run: each finished (origin, method) unit is kept on disk until the page is written.

A cross-project run on corpus v2 takes hours (every baseline, tsfuse, its fine-tuning, the ablation);
a stopped run would otherwise start over. :class:`RunStore` keeps, per unit, the method's outputs
(``Output``: forecasts, class predictions, quantiles, times, info) and the training audit entries its
fits added, and the fitted tsfuse models later units need (fine-tuning, the text ablation, the history
slices) as safe model folders (:meth:`tsfuse.Forecaster.save`: safetensors + JSON, no pickle). A rerun
of the same command at the same code reuses them; every unit's method is seeded the same way
whether it ran or was restored, so the page equals an uninterrupted run's.

The store is keyed by the command line and the code: the commit and a hash of the uncommitted
changes (``git diff HEAD`` and the untracked files' names). A store of another key is discarded,
loudly. Outside a git checkout nothing is kept. The run removes its store once its page is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import REPO
from benchmarks.methods import Output

log = logging.getLogger("benchmarks")
ARRAYS = ("forecast", "trend_pred", "level_pred", "quantiles")


def code_key() -> dict[str, str] | None:
    """The commit and a hash of the uncommitted changes; None outside a git checkout."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=60,
                              check=True).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        changes = git("diff", "HEAD", "--binary") + git("ls-files", "--others", "--exclude-standard")
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "changes_sha256": hashlib.sha256(changes.encode()).hexdigest()}


def _plain(value: Any) -> Any:
    """numpy scalars and arrays in an output's info, as JSON numbers and lists."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"cannot keep {type(value).__name__} {value!r} of a method's info in the run store")


class RunStore:
    """The finished units of one run, in ``folder``, valid for ``argv`` at the current code.

    Args:
        folder: where the units are kept (``<out>/.<page stem>.partial``).
        argv: the run's command-line arguments; a store written by other arguments is discarded.
        why_not: a reason not to keep anything (logged), or None.
    """

    def __init__(self, folder: Path, argv: list[str], why_not: str | None = None):
        self.folder = Path(folder)
        code = code_key()
        why_not = why_not or (None if code is not None else "not a git checkout")
        self.enabled = why_not is None
        if not self.enabled:
            log.warning("%s: finished units are not kept, a stopped run starts over", why_not)
            return
        key = {"argv": list(argv), **code}
        key_file = self.folder / "key.json"
        if key_file.is_file():
            if json.loads(key_file.read_text(encoding="utf-8")) == key:
                units = sorted(p.stem for p in self.folder.glob("*.json") if p.name != "key.json")
                log.warning("resuming from %s: %d finished unit(s) %s", self.folder, len(units), units)
            else:
                log.warning("discarding %s: it was written by another command or other code", self.folder)
                shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        key_file.write_text(json.dumps(key, indent=1), encoding="utf-8")

    def _unit(self, origin: pd.Timestamp, method: str) -> Path:
        return self.folder / f"{origin:%Y-%m}-{method.replace('+', 'plus')}"

    def save(self, origin: pd.Timestamp, method: str, out: Output, audit: list[dict], model: Any = None) -> None:
        """Keep one finished unit: its output, the audit entries of its fits and (optionally) its model."""
        if not self.enabled:
            return
        base = self._unit(origin, method)
        if model is not None:
            if not hasattr(model, "save"):
                log.warning("%s at %s: its model (%s) cannot be saved; a resumed run trains it again",
                            method, f"{origin:%Y-%m}", type(model).__name__)
                return
            model.save(base.with_suffix(".model"))
        np.savez(base.with_suffix(".npz"), **{k: getattr(out, k) for k in ARRAYS if getattr(out, k) is not None})
        meta = {"fit_s": out.fit_s, "predict_s": out.predict_s, "info": out.info, "audit": audit,
                "model": model is not None}
        tmp = base.with_suffix(".json.tmp")  # the JSON marks the unit finished: written last, atomically
        tmp.write_text(json.dumps(meta, default=_plain), encoding="utf-8")
        tmp.replace(base.with_suffix(".json"))

    def load(self, origin: pd.Timestamp, method: str) -> tuple[Output, list[dict], Any] | None:
        """A finished unit (output, audit entries, model or None), or None if it did not finish."""
        if not self.enabled:
            return None
        base = self._unit(origin, method)
        if not base.with_suffix(".json").is_file():
            return None
        meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
        with np.load(base.with_suffix(".npz"), allow_pickle=False) as arrays:
            parts = {k: arrays[k] for k in ARRAYS if k in arrays}
        model = None
        if meta["model"]:
            from tsfuse.estimator import Forecaster

            model = Forecaster.load(base.with_suffix(".model"))
        out = Output(parts["forecast"], meta["fit_s"], meta["predict_s"], parts.get("trend_pred"),
                     parts.get("level_pred"), parts.get("quantiles"), info=meta["info"])
        return out, meta["audit"], model

    def remove(self) -> None:
        """Delete the store (the page is written)."""
        if self.enabled:
            shutil.rmtree(self.folder, ignore_errors=True)
