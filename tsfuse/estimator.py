"""The user-facing :class:`Forecaster`: pretrain, fine-tune, predict, backtest, embed, save, load.

It checks what users hand in once (panels, README texts) and delegates: training to
:mod:`tsfuse.train.recipes`, forecasts to :mod:`tsfuse.inference`, files to :mod:`tsfuse.model_folder`.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from tsfuse import inference
from tsfuse._version import __version__
from tsfuse.config import ModelConfig, RunConfig, TrainConfig, get_preset, resolve_settings
from tsfuse.data.schema import ID, covariate_columns, ensure_checked
from tsfuse.data.tasks import TaskSpec
from tsfuse.data.windows import WindowSet
from tsfuse.errors import ModelFileError
from tsfuse.io.persistence import load_model
from tsfuse.model_folder import FolderContents, read_folder, write_folder
from tsfuse.text.versions import checked_texts, is_versions, merge_texts
from tsfuse.train import recipes
from tsfuse.train.calibration import Calibration
from tsfuse.train.inputs import InputBuilder
from tsfuse.train.module import TsfuseModule

if TYPE_CHECKING:
    from tsfuse.text.encoder import TextEncoder



MAX_HORIZON = 12


def _task_with_horizon(task: TaskSpec, horizon: int) -> TaskSpec:
    """``task`` forecasting ``horizon`` months (3..12: the classes are defined on the first 3)."""
    if not isinstance(horizon, int) or not 3 <= horizon <= MAX_HORIZON:
        raise ValueError(f"horizon must be an integer from 3 to {MAX_HORIZON} months, got {horizon!r}")
    return task if horizon == task.horizon else replace(task, horizon=horizon)


class Forecaster:
    """A trained two-tower model for one task (corpus rules), with the frozen text encoder by name.

    Args:
        model_config: the architecture.
        task: the corpus rules (target, horizon, label rules).
        train_config: how it was (or will be) trained; saved with the model.
        state: weights to load (a state dict of :class:`~tsfuse.train.module.TsfuseModule`).
        module: a trained module to use as is (instead of ``state``).
        panel: the project history the model was fitted on (``predict()`` forecasts it).
        texts: README text per project.
        info: what training did (records, fine-tuning outcome).
        text_encoder: a loaded text encoder (else loaded by name on first use).
        run_config: where it runs (devices, log folder); never saved.

    Attributes:
        validation: after :meth:`pretrain`, the first fit's forecasts of its validation windows (the
            training projects' latest ``val_months`` origins, held out from that fit) as ``(windows,
            outputs)``, outputs as :meth:`backtest` gives them; None otherwise. In memory only, not saved.
    """

    def __init__(self, model_config: ModelConfig, task: TaskSpec, train_config: TrainConfig | None = None, *,
                 state: dict[str, torch.Tensor] | None = None, module: TsfuseModule | None = None,
                 panel: pd.DataFrame | None = None, texts: dict[str, str] | None = None,
                 info: dict[str, Any] | None = None, text_encoder: TextEncoder | None = None,
                 run_config: RunConfig | None = None) -> None:
        self.model_config, self.task = model_config, task
        self.train_config = train_config or TrainConfig()
        self.run_config = run_config or RunConfig()
        self.module = module or TsfuseModule(model_config, self.train_config)
        if state is not None:
            self.module.load_state_dict(state)
        self.texts = texts if is_versions(texts) else dict(texts or {})
        self.panel, self.info = panel, dict(info or {})
        self._encoder = text_encoder
        self.validation: tuple[WindowSet, dict[str, np.ndarray]] | None = None
        self.inputs = InputBuilder(model_config, task, lambda: self.text_encoder)

    @property
    def text_encoder(self) -> TextEncoder | None:
        """The frozen README encoder (loaded on first use; None for a model without text tower)."""
        if self._encoder is None and self.model_config.text_model:
            from tsfuse.text import TextEncoder

            self._encoder = TextEncoder(self.model_config.text_model)
            if self._encoder.dim != self.model_config.text_dim:
                raise RuntimeError(
                    f"text encoder {self._encoder.name!r} gives {self._encoder.dim}-dim vectors but this model "
                    f"was trained with {self.model_config.text_model!r} ({self.model_config.text_dim}-dim); "
                    "install that encoder or retrain")
        return self._encoder

    @classmethod
    def pretrain(cls, panel: pd.DataFrame, texts: dict[str, str] | None, task: TaskSpec, *,
                 preset: str = "balanced", before: str | pd.Timestamp | None = None,
                 model: dict[str, Any] | None = None, train: dict[str, Any] | None = None,
                 run: dict[str, Any] | None = None, text_encoder: TextEncoder | None = None) -> "Forecaster":
        """Train a global model on many projects, on windows whose whole target lies before ``before``.

        Args:
            panel: many projects' monthly panel (``unique_id, ds, y`` + covariates).
            texts: README text per project (missing ones: no README).
            task: the corpus rules.
            preset: ``light``, ``balanced`` or ``high`` (:data:`tsfuse.config.PRESETS`).
            before: the cut-off: every training target lies before it (default: all months).
            model: :class:`~tsfuse.config.ModelConfig` fields to override (covariates default to the panel's;
                ``horizon`` 3..12 months, default the task's 6; ``quantiles``, an odd number of levels
                around 0.5, default 0.1 / 0.5 / 0.9).
            train: training settings to override, flat (``max_epochs``, ``lr``, ``ssl_epochs``, ...; see
                :func:`~tsfuse.config.resolve_settings`); run settings are accepted here too.
            run: :class:`~tsfuse.config.RunConfig` fields (devices, precision, log_dir, resume, ...).
            text_encoder: a loaded encoder to use instead of loading ``model["text_model"]`` by name.
        """
        panel, texts = ensure_checked(panel), checked_texts(texts)
        task = _task_with_horizon(task, (model or {}).get("horizon", task.horizon))
        chosen = get_preset(preset, **(model or {}))
        train_cfg, run_cfg = resolve_settings(chosen.train, RunConfig(), {**(train or {}), **(run or {})})
        model_cfg = chosen.model
        if "covariates" not in (model or {}):
            model_cfg = replace(model_cfg, covariates=tuple(covariate_columns(panel)))
        model_cfg = replace(model_cfg, horizon=task.horizon, trend_tau=task.tau, level_edges=tuple(task.level_edges))
        if model_cfg.text_model:
            if text_encoder is None:
                from tsfuse.text import TextEncoder

                text_encoder = TextEncoder(model_cfg.text_model)
            model_cfg = replace(model_cfg, text_model=text_encoder.name, text_dim=text_encoder.dim)
        builder = InputBuilder(model_cfg, task, lambda: text_encoder)
        trained = recipes.pretrain(builder, panel, texts, model_cfg, train_cfg, run_cfg, before)
        forecaster = cls(model_cfg, task, train_cfg, module=trained.module, texts=texts, info=trained.info,
                         text_encoder=text_encoder, run_config=run_cfg)
        forecaster.validation = trained.validation
        return forecaster

    def finetune(self, panel: pd.DataFrame, texts: dict[str, str] | None = None, *,
                 freeze_epochs: int | None = None, max_epochs: int | None = None,
                 lr: float | None = None, guard: bool = True) -> "Forecaster":
        """A copy fine-tuned on ``panel`` (usually one project) with progressive unfreezing.

        Heads, fusion and text projection train first; the temporal tower joins after
        ``freeze_epochs`` at a lower learning rate. The project's latest months (a quarter of its
        history, at most ``val_months``) are held out: early stopping picks the epoch there, and
        if no epoch beats the pretrained model on them, the pretrained model is kept as is (so
        fine-tuning is never worse on the project's own recent months). Without a training window
        and a validation window whose whole horizon is observed (fewer than about four horizons of
        months, 24 for H = 6), the pretrained model is returned as is with a warning.

        Args:
            panel: the project's monthly panel.
            texts: README text per project (added to the model's).
            freeze_epochs: epochs before the temporal tower trains (default ``finetune.freeze_epochs``).
            max_epochs: default ``finetune.max_epochs``.
            lr: default ``finetune.lr``.
            guard: False keeps the fine-tuned weights even when they are worse.
        """
        panel, texts = ensure_checked(panel), merge_texts(self.texts, checked_texts(texts))
        trained = recipes.finetune(self.module, self.inputs, panel, texts, self.train_config, self.run_config,
                                   freeze_epochs=freeze_epochs, max_epochs=max_epochs, lr=lr, guard=guard)
        info = {**copy.deepcopy(self.info), "finetune": trained.info}
        return Forecaster(self.model_config, self.task, trained.train, module=trained.module, panel=panel,
                          texts=texts, info=info, text_encoder=self._encoder,
                          run_config=replace(self.run_config, log_dir=None, resume=False))

    def load_temporal_tower(self, path: str | Path, strict: bool = False) -> dict[str, list[str]]:
        """Copy the temporal tower's weights from another saved model folder into this one (keys match
        by name and shape); see :func:`tsfuse.train.recipes.load_temporal_tower`."""
        state, _, _ = load_model(path)
        return recipes.load_temporal_tower(self.module, state, str(path), strict)

    def load_pretrained_encoder(self, path: str | Path, strict: bool = False) -> dict[str, list[str]]:
        """Deprecated name of :meth:`load_temporal_tower` (it loads the temporal tower, not a text encoder)."""
        warnings.warn("load_pretrained_encoder is deprecated: use load_temporal_tower", DeprecationWarning, 2)
        return self.load_temporal_tower(path, strict)

    @property
    def calibration(self) -> Calibration | None:
        """The post-hoc calibration fitted in pretraining (``train={"calibrate": True}``), or None."""
        data = self.info.get("calibration")
        return Calibration.from_dict(data) if data else None

    def predict_windows(self, windows: WindowSet, texts: dict[str, str] | None = None) -> dict[str, np.ndarray]:
        """Forecasts for prepared windows: ``quantiles`` [N, H, Q] (counts), ``trend_proba`` [N, 3],
        ``level_proba`` [N, 5]."""
        return inference.predict_windows(self.module, self.inputs, windows,
                                         merge_texts(self.texts, checked_texts(texts)), self.calibration)

    def backtest(self, panel: pd.DataFrame, origins, texts: dict[str, str] | None = None, *,
                 min_history: int | None = None) -> tuple[WindowSet, dict[str, np.ndarray]]:
        """Forecast every window eligible for scoring at ``origins`` (BENCHMARK.md rules: 12 months of
        history before the origin, or ``min_history`` for a cold start, and the whole horizon
        observed). Inputs use only months before each origin. Returns the windows (with their true
        targets and labels) and the outputs of :meth:`predict_windows`, aligned."""
        windows = self.inputs.windows(ensure_checked(panel), list(origins), min_history=min_history)
        return windows, self.predict_windows(windows, texts)

    def cross_validation(self, panel: pd.DataFrame | None = None, *, origins: list | None = None,
                         n_windows: int | None = None,
                         step_size: int = 1, texts: dict[str, str] | None = None) -> pd.DataFrame:
        """Backtest as a long frame ``unique_id, ds, cutoff, y, p10, p50, p90, trend..., level...,
        trend_true, level_true`` (the forecasts of :meth:`backtest`; inputs from months before each origin).

        Args:
            panel: default: the history this forecaster was fitted on.
            origins: forecast origins (first forecast months); or ``n_windows``.
            n_windows: the latest ``n_windows`` origins, ``step_size`` months apart, whose whole
                horizon lies inside the panel.
            step_size: months between the origins of ``n_windows``.
            texts: README text per project.
        """
        panel = self._panel_or_fitted(panel)
        if (origins is None) == (n_windows is None):
            raise ValueError("give origins=[...] or n_windows=N (one of them)")
        if origins is None:
            origins = inference.latest_origins(panel, self.task.horizon, n_windows, step_size)
        windows, out = self.backtest(panel, origins, texts)
        return inference.backtest_table(windows, out, self.model_config.quantiles, self.task)

    def predict(self, panel: pd.DataFrame | None = None, texts: dict[str, str] | None = None,
                origin: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """Forecast table: one row per project and future month (``unique_id, ds``, p10/p50/p90, trend
        and level probabilities for the first 3 months, the most likely classes).

        Args:
            panel: default: the history this forecaster was fitted on.
            texts: README text per project.
            origin: default: the month after each project's last month (a backtest origin uses only
                months before it).
        """
        windows = inference.origin_windows(self.inputs, self._panel_or_fitted(panel), origin)
        return pd.concat([inference.forecast_table(w, self.predict_windows(w, texts), self.model_config.quantiles,
                                                   self.task)
                          for w in windows], ignore_index=True)

    def embed(self, panel: pd.DataFrame | None = None, texts: dict[str, str] | None = None) -> pd.DataFrame:
        """The fused project embedding at each project's forecast origin, one row per project."""
        texts = merge_texts(self.texts, checked_texts(texts))
        frames = [pd.DataFrame(inference.embed_windows(self.module, self.inputs, w, texts),
                               index=pd.Index(w.unique_id.astype(str), name=ID)).add_prefix("e")
                  for w in inference.origin_windows(self.inputs, self._panel_or_fitted(panel))]
        return pd.concat(frames).sort_index()

    def _panel_or_fitted(self, panel: pd.DataFrame | None) -> pd.DataFrame:
        if panel is not None:
            return ensure_checked(panel)
        if self.panel is None:
            raise ValueError("pass a panel: this forecaster was not fitted on a project history")
        return self.panel

    def parameter_counts(self) -> dict[str, int]:
        """Trainable and frozen parameter counts (the frozen text encoder included once loaded)."""
        return inference.parameter_counts(self.module, self._encoder)

    def summary(self) -> str:
        """A short text: towers, sizes, frozen vs trainable parameters."""
        return inference.summary_text(self.model_config, self.task, self.parameter_counts(),
                                      encoder_loaded=self._encoder is not None)

    def save(self, directory: str | Path) -> Path:
        """Save as safetensors + JSON (atomic; no pickle; :mod:`tsfuse.model_folder`). The text
        encoder is stored by name only; run settings are not saved."""
        return write_folder(directory, FolderContents(self.model_config, self.task, self.train_config,
                                                      dict(self.module.state_dict()), self.panel, self.texts,
                                                      self.info))

    @classmethod
    def load(cls, directory: str | Path) -> "Forecaster":
        """Load a folder written by :meth:`save` (checksums verified, never unpickles; folders saved
        by tsfuse 0.1.0 load too)."""
        c = read_folder(directory)
        try:
            return cls(c.model, c.task, c.train, state=c.state, panel=c.panel, texts=c.texts, info=c.info)
        except RuntimeError as exc:  # weights that do not fit the architecture in the config
            raise ModelFileError(f"{directory}: the weights do not fit its config ({exc}); re-save the model "
                                 f"with tsfuse {__version__}") from None
