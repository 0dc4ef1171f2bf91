"""The user-facing :class:`Forecaster`: pretrain, fine-tune, predict, embed, save, load."""

from __future__ import annotations

import copy
import io
import json
import logging
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from tsfuse._version import __version__
from tsfuse.config import ModelConfig, TrainConfig, get_preset
from tsfuse.data.schema import DS, ID, covariate_columns, validate_panel
from tsfuse.data.tasks import N_LEVELS, TREND_CLASSES, TaskSpec
from tsfuse.data.windows import WindowSet, forecast_origin, make_windows
from tsfuse.data.features import build_inputs
from tsfuse.train.module import TsfuseModule, balanced_class_weights
from tsfuse.errors import ModelFileError, PanelError
from tsfuse.io.persistence import load_model, save_model
from tsfuse.train.ssl import pretrain_temporal
from tsfuse.text.clean import prepare_readme
from tsfuse.train.trainer import ProgressiveUnfreezing, make_loader, run_training

log = logging.getLogger(__name__)
HISTORY_FILE, TEXTS_FILE = "history.csv", "texts.json"


# Where and how a run trained (devices, checkpoint folder) belongs to that machine and run, not to the
# model: a saved model keeps the defaults (one CPU process, no log folder); a fine-tune never reuses the
# pretraining's log folder (its finished phases would be "resumed").
RUN_FIELDS = ("accelerator", "devices", "strategy", "num_nodes", "log_dir", "resume")
COLD_START_MONTHS = 3  # the fewest months of history a forecast is made from (README + corpus prior)


def checked_texts(texts: dict[str, str] | None) -> dict[str, str]:
    """README texts handed to predict / finetune, through the same checks as ``tsfuse.fit``'s
    (binary or non-UTF-8 refused, huge ones cut); a non-dict is refused."""
    if texts is None:
        return {}
    if not isinstance(texts, dict):
        raise TypeError(f"texts must be a dict {{unique_id: README text}}, got {type(texts).__name__}")
    return {str(uid): prepare_readme(text, f"texts[{uid!r}]") for uid, text in texts.items()}


def _run_defaults() -> dict[str, Any]:
    return {name: TrainConfig.__dataclass_fields__[name].default for name in RUN_FIELDS}


def evaluate_loss(module: TsfuseModule, arrays: dict[str, np.ndarray], batch_size: int = 1024) -> float:
    """The module's multi-task loss on ``arrays`` (eval mode, batch-size weighted like Lightning's epoch mean)."""
    was_training = module.training
    module.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in make_loader(arrays, batch_size, shuffle=False):
            size = len(batch["target"])
            total += float(module.losses(batch)["loss"]) * size
            count += size
    module.train(was_training)
    return total / max(count, 1)


class Forecaster:
    """A trained two-tower model for one task (corpus rules), with the frozen text encoder by name."""

    def __init__(self, model_config: ModelConfig, task: TaskSpec, train_config: TrainConfig | None = None,
                 *, state: dict[str, torch.Tensor] | None = None, history: pd.DataFrame | None = None,
                 texts: dict[str, str] | None = None, info: dict[str, Any] | None = None,
                 text_encoder=None) -> None:
        self.model_config = model_config
        self.task = task
        self.train_config = train_config or TrainConfig()
        self.module = TsfuseModule(model_config, self.train_config)
        if state is not None:
            self.module.load_state_dict(state)
        self.history = history
        self.texts = dict(texts or {})
        self.info = dict(info or {})
        self._encoder = text_encoder

    # ----------------------------------------------------------------- text
    @property
    def text_encoder(self):
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

    def _text_arrays(self, unique_ids: np.ndarray, texts: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
        n, dim = len(unique_ids), self.model_config.text_dim
        if not self.model_config.text_model or n == 0:
            return np.zeros((n, dim), np.float32), np.zeros(n, np.float32)
        projects = sorted(set(unique_ids))
        emb = self.text_encoder.encode([texts.get(p, "") for p in projects])
        row = {p: i for i, p in enumerate(projects)}
        idx = np.array([row[u] for u in unique_ids])
        return emb.vectors[idx], emb.present[idx].astype(np.float32)

    def _inputs(self, windows: WindowSet, texts: dict[str, str]) -> dict[str, np.ndarray]:
        vectors, present = self._text_arrays(windows.unique_id, texts)
        return build_inputs(windows, self.model_config.covariates, vectors, present)

    def _windows(self, panel: pd.DataFrame, origins=None, **kwargs) -> WindowSet:
        return make_windows(panel, self.task, origins, context_length=self.model_config.context_length,
                            covariates=[c for c in self.model_config.covariates if c in panel.columns],
                            validate=False, **kwargs)

    def _time_split(self, panel: pd.DataFrame, before, val_months: int) -> tuple[WindowSet, WindowSet, WindowSet]:
        """(train, validation, all) training windows before ``before`` (default: after the last month).

        Validation windows have their origin in the last ``val_months`` months; training windows see
        only months before those (their targets are cut there, partly observed targets count). A
        window needs ``train_config.min_history`` months of context and one observed target month.
        """
        end = pd.Timestamp(before) if before is not None else panel[DS].max() + pd.offsets.MonthBegin(1)
        val_start = end - pd.DateOffset(months=max(val_months, 0))
        kw = {"stride": self.train_config.stride, "min_history": self.train_config.min_history, "min_target": 1}
        every = self._windows(panel, before=end, **kw)
        train = self._windows(panel, before=val_start, **kw)
        return train, every.subset(every.origin >= np.datetime64(val_start, "M")), every

    # ------------------------------------------------------------- training
    @classmethod
    def pretrain(cls, panel: pd.DataFrame, texts: dict[str, str] | None, task: TaskSpec, *,
                 preset: str = "balanced", before: str | pd.Timestamp | None = None,
                 model: dict[str, Any] | None = None, train: dict[str, Any] | None = None,
                 text_encoder=None) -> "Forecaster":
        """Train a global model on many projects, on windows whose whole target lies before ``before``."""
        panel = validate_panel(panel)
        chosen = get_preset(preset, **(model or {}))
        train_cfg = replace(chosen.train, **(train or {}))
        model_cfg = chosen.model
        if "covariates" not in (model or {}):
            model_cfg = replace(model_cfg, covariates=tuple(covariate_columns(panel)))
        model_cfg = replace(model_cfg, horizon=task.horizon, trend_tau=task.tau, level_edges=tuple(task.level_edges))
        if model_cfg.text_model:
            if text_encoder is None:
                from tsfuse.text import TextEncoder

                text_encoder = TextEncoder(model_cfg.text_model)
            model_cfg = replace(model_cfg, text_model=text_encoder.name, text_dim=text_encoder.dim)
        torch.manual_seed(train_cfg.seed)  # the initial weights follow the seed too
        est = cls(model_cfg, task, train_cfg, texts=texts, text_encoder=text_encoder)
        train_w, val_w, windows = est._time_split(panel, before, train_cfg.val_months)
        if len(train_w) == 0:
            raise PanelError(f"no training windows: a project needs more than {train_cfg.min_history + train_cfg.val_months} "
                             f"months of history{' before ' + str(before) if before is not None else ''} "
                             f"(min_history {train_cfg.min_history} + val_months {train_cfg.val_months})")
        train_arr, val_arr = est._inputs(train_w, est.texts), est._inputs(val_w, est.texts)
        est._set_class_weights(train_arr)
        ssl_info, ssl_state = None, None
        if train_cfg.ssl_epochs > 0:  # self-supervised temporal tower first, on months before `before` only
            ssl_info = pretrain_temporal(est.module.net.temporal, panel, model_cfg, train_cfg, before)
            ssl_state = copy.deepcopy(est.module.net.temporal.state_dict())
        history = run_training(est.module, train_arr, val_arr, train_cfg)
        if train_cfg.refit and history["best_epoch"] is not None and len(val_w):
            est._refit_all(windows, history["best_epoch"] + 1, ssl_state)
            history["refit_epochs"] = history["best_epoch"] + 1
        est.info = {"trained_on": {"projects": int(panel[ID].nunique()), "windows": len(windows),
                                   "before": None if before is None else str(pd.Timestamp(before).date())},
                    "training": history, **({"ssl": ssl_info} if ssl_info else {})}
        return est

    def _refit_all(self, windows: WindowSet, epochs: int,
                   temporal_state: dict[str, torch.Tensor] | None = None) -> None:
        """Retrain from the same initial weights on every window, the latest (validation) ones
        included, for the epoch count early stopping chose: the model then knows the newest months.
        ``temporal_state``: the self-supervised temporal tower the first training started from."""
        torch.manual_seed(self.train_config.seed)
        self.module = TsfuseModule(self.model_config, self.train_config)
        if temporal_state is not None:
            self.module.net.temporal.load_state_dict(temporal_state)
        arrays = self._inputs(windows, self.texts)
        self._set_class_weights(arrays)
        run_training(self.module, arrays, None, self.train_config, max_epochs=epochs, warn_without_val=False,
                     phase="refit")

    def _set_class_weights(self, arrays: dict[str, np.ndarray]) -> None:
        power = {"balanced": 1.0, "sqrt": 0.5, "none": 0.0}[self.train_config.class_weights]
        self.module.trend_weights.copy_(balanced_class_weights(arrays["trend"], len(TREND_CLASSES), power))
        self.module.level_weights.copy_(balanced_class_weights(arrays["level"], N_LEVELS, power))

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
        ``guard=False`` keeps the fine-tuned weights even when they are worse.
        """
        panel = validate_panel(panel)
        cfg = replace(self.train_config, lr=lr or self.train_config.finetune_lr,
                      batch_size=self.train_config.finetune_batch_size, log_dir=None, resume=False)
        tuned = Forecaster(self.model_config, self.task, cfg, state=self.module.state_dict(),
                           history=panel, texts={**self.texts, **checked_texts(texts)},
                           info=copy.deepcopy(self.info), text_encoder=self._encoder)
        months = int(panel.groupby(ID).size().max())
        train_w, val_w, _ = tuned._time_split(panel, None, min(cfg.val_months, max(months // 4, 1)))
        horizon = self.task.horizon
        complete = int((~np.isnan(val_w.target)).all(axis=1).sum())
        if len(train_w) == 0 or complete == 0:
            # Without a validation window whose whole horizon is observed, nothing checks that fine-tuning
            # helps; on 12-month histories it hurt as often as it helped (benchmarks/results/finetune-sweep.md).
            log.warning("fine-tuning skipped: %d month(s) of history give %d training window(s) and %d validation "
                        "window(s) with all %d target months observed (needs both: at least %d months with "
                        "val_months >= %d); the pretrained model is used as is", months, len(train_w), complete,
                        horizon, 4 * horizon, horizon)
            tuned.info["finetune"] = {"skipped": True, "windows": len(train_w), "val_windows": len(val_w)}
            return tuned
        train_arr, val_arr = tuned._inputs(train_w, tuned.texts), tuned._inputs(val_w, tuned.texts)
        pretrained_loss = evaluate_loss(tuned.module, val_arr)
        pretrained_state = copy.deepcopy(tuned.module.state_dict())
        tuned.module.lr_multipliers = {"temporal": 0.3}
        fz = cfg.freeze_epochs if freeze_epochs is None else freeze_epochs
        history = run_training(tuned.module, train_arr, val_arr, cfg, max_epochs=max_epochs or cfg.finetune_max_epochs,
                               extra_callbacks=[ProgressiveUnfreezing(fz)], phase="finetune")
        tuned.module.lr_multipliers = {}
        for p in tuned.module.parameters():
            p.requires_grad = True
        kept = guard and (history["best_val_loss"] is None or history["best_val_loss"] >= pretrained_loss)
        if kept:
            tuned.module.load_state_dict(pretrained_state)
            log.info("fine-tuning did not beat the pretrained model on the project's last %d window(s) "
                     "(val loss %.4f vs %.4f): the pretrained model is kept", len(val_w),
                     history["best_val_loss"] or float("nan"), pretrained_loss)
        tuned.info["finetune"] = {"windows": len(train_w), "val_windows": len(val_w), "freeze_epochs": fz,
                                  "pretrained_val_loss": pretrained_loss, "kept_pretrained": kept, **history}
        return tuned

    def load_pretrained_encoder(self, path: str | Path, strict: bool = False) -> dict[str, list[str]]:
        """Copy the temporal tower's weights from another saved model folder into this one.

        Keys match by name and shape. Returns a report ``{"matched", "missing", "unexpected",
        "mismatched"}``: missing = this tower's keys the checkpoint lacks, unexpected = checkpoint
        keys this tower lacks, mismatched = same name, other shape. ``strict`` raises unless all
        keys match.
        """
        state, _, _ = load_model(path)
        prefix = "net.temporal."
        source = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        target = self.module.net.temporal.state_dict()
        matched = sorted(k for k in target if k in source and source[k].shape == target[k].shape)
        report = {"matched": matched,
                  "missing": sorted(k for k in target if k not in source),
                  "unexpected": sorted(k for k in source if k not in target),
                  "mismatched": sorted(k for k in target if k in source and source[k].shape != target[k].shape)}
        problems = report["missing"] + report["unexpected"] + report["mismatched"]
        if strict and problems:
            raise ValueError(f"temporal tower of {path} does not match this model: {problems[:8]}")
        self.module.net.temporal.load_state_dict({**target, **{k: source[k] for k in matched}})
        log.info("loaded %d temporal-tower tensors from %s (%d missing, %d unexpected, %d mismatched)",
                 len(matched), path, len(report["missing"]), len(report["unexpected"]), len(report["mismatched"]))
        return report

    # ------------------------------------------------------------ inference
    @torch.inference_mode()
    def _raw_outputs(self, windows: WindowSet, texts: dict[str, str]) -> dict[str, np.ndarray]:
        self.module.eval()
        arrays = self._inputs(windows, texts)
        outs = [self.module.net(batch) for batch in make_loader(arrays, 1024, shuffle=False)]
        joined = {k: torch.cat([o[k] for o in outs]).numpy() for k in outs[0]}
        joined["log_scale"] = arrays["log_scale"]
        return joined

    def predict_windows(self, windows: WindowSet, texts: dict[str, str] | None = None) -> dict[str, np.ndarray]:
        """Forecasts for prepared windows: ``quantiles`` [N, H, Q] (counts), ``trend_proba`` [N, 3],
        ``level_proba`` [N, 5], ``embedding`` [N, fusion_size]."""
        texts = {**self.texts, **checked_texts(texts)}
        if len(windows) == 0:
            h, q = self.task.horizon, len(self.model_config.quantiles)
            return {"quantiles": np.zeros((0, h, q)), "trend_proba": np.zeros((0, 3)), "level_proba": np.zeros((0, 5))}
        raw = self._raw_outputs(windows, texts)
        quantiles = np.clip(np.expm1(raw["quantiles"] + raw["log_scale"][:, None, None]), 0, None)
        return {"quantiles": quantiles,
                "trend_proba": self._class_proba(raw["trend"], self.module.trend_weights),
                "level_proba": self._class_proba(raw["level"], self.module.level_weights)}

    @staticmethod
    def _class_proba(logits: np.ndarray, class_weights: torch.Tensor) -> np.ndarray:
        """Probabilities under the data's own class frequencies: a head trained with class weights
        w_k learns p(k|x) * w_k (up to normalisation), so log w_k is subtracted (post-hoc logit
        adjustment) before the softmax."""
        adjusted = torch.from_numpy(logits) - torch.log(class_weights)
        return torch.softmax(adjusted, -1).numpy()

    def backtest(self, panel: pd.DataFrame, origins, texts: dict[str, str] | None = None, *,
                 min_history: int | None = None) -> tuple[WindowSet, dict[str, np.ndarray]]:
        """Forecast every window eligible for scoring at ``origins`` (BENCHMARK.md rules: 12 months of
        history before the origin, or ``min_history`` for a cold start, and the whole horizon
        observed). Inputs use only months before each origin. Returns the windows (with their true
        targets and labels) and the outputs of :meth:`predict_windows`, aligned."""
        windows = self._windows(validate_panel(panel), list(origins), min_history=min_history)
        return windows, self.predict_windows(windows, texts)

    def predict(self, panel: pd.DataFrame | None = None, texts: dict[str, str] | None = None,
                origin: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """Forecast table: one row per project and future month with p10/p50/p90, trend and level
        probabilities (they describe the first 3 months) and the most likely classes.

        ``panel`` defaults to the history this forecaster was fitted on; ``origin`` defaults to the
        month after each project's last month (a backtest origin uses only months before it).
        """
        panel = self._require_panel(panel)
        frames = []
        for part, windows in self._origin_windows(panel, origin):
            frames.append(self._forecast_table(windows, self.predict_windows(windows, texts)))
        return pd.concat(frames, ignore_index=True)

    def _origin_windows(self, panel: pd.DataFrame, origin=None):
        """(panel part, windows) per forecast origin: the given one, or each project's month after its end."""
        if origin is None:
            starts = pd.Series(forecast_origin(panel))
            groups = {o: list(ids.index) for o, ids in starts.groupby(starts)}
        else:
            groups = {pd.Timestamp(origin): list(panel[ID].unique())}
        for o, ids in groups.items():
            part = panel[panel[ID].isin(ids)]
            windows = self._windows(part, [o], require_target=False, min_history=COLD_START_MONTHS)
            self._check_history(part, windows, o)
            yield part, windows

    def _require_panel(self, panel: pd.DataFrame | None) -> pd.DataFrame:
        if panel is None:
            if self.history is None:
                raise ValueError("pass a panel: this forecaster was not fitted on a project history")
            return self.history
        return validate_panel(panel)

    def _check_history(self, panel: pd.DataFrame, windows: WindowSet, origin) -> None:
        have = set(windows.unique_id)
        short = [p for p in panel[ID].unique() if p not in have]
        if short:
            raise PanelError(f"project(s) {short[:5]} have fewer than {COLD_START_MONTHS} months of history "
                             f"before {pd.Timestamp(origin):%Y-%m}; a forecast needs at least {COLD_START_MONTHS}")
        cold = windows.age < self.task.min_history
        if cold.any():
            log.warning("cold start: %s ha%s only %s month(s) of history (< %d); the forecast leans on the README and "
                        "what the model learned from other projects: treat it as rough",
                        list(windows.unique_id[cold][:5]), "s" if cold.sum() == 1 else "ve",
                        sorted(set(windows.age[cold].tolist())), self.task.min_history)

    def _forecast_table(self, windows: WindowSet, out: dict[str, np.ndarray]) -> pd.DataFrame:
        n, h = out["quantiles"].shape[:2]
        months = windows.origin.astype("datetime64[M]")[:, None] + np.arange(h)[None, :]
        table = pd.DataFrame({ID: np.repeat(windows.unique_id, h), DS: months.ravel().astype("datetime64[ns]")})
        for j, q in enumerate(self.model_config.quantiles):
            table[f"p{int(round(q * 100))}"] = out["quantiles"][:, :, j].ravel()
        for j, name in enumerate(TREND_CLASSES):
            table[f"trend_{name}"] = np.repeat(out["trend_proba"][:, j], h)
        for j in range(N_LEVELS):
            table[f"level_{j}"] = np.repeat(out["level_proba"][:, j], h)
        table["trend"] = np.repeat(np.array(TREND_CLASSES)[out["trend_proba"].argmax(1)], h)
        table["level"] = np.repeat(out["level_proba"].argmax(1), h)
        return table

    @torch.inference_mode()
    def embed(self, panel: pd.DataFrame | None = None, texts: dict[str, str] | None = None) -> pd.DataFrame:
        """The fused project embedding at each project's forecast origin, one row per project."""
        panel = self._require_panel(panel)
        self.module.eval()
        frames = []
        for _, windows in self._origin_windows(panel):
            arrays = self._inputs(windows, {**self.texts, **(texts or {})})
            z = self.module.net.forward_features({k: torch.from_numpy(v) for k, v in arrays.items()}).numpy()
            frames.append(pd.DataFrame(z, index=pd.Index(windows.unique_id.astype(str), name=ID)).add_prefix("e"))
        return pd.concat(frames).sort_index()

    # ------------------------------------------------------------- summary
    def parameter_counts(self) -> dict[str, int]:
        """Trainable and frozen parameter counts (the frozen text encoder included)."""
        trainable = sum(p.numel() for p in self.module.net.parameters())
        frozen = 0
        if self.model_config.text_model and self._encoder is not None:
            frozen = sum(p.numel() for p in self._encoder.model.parameters())
        return {"trainable": trainable, "frozen_text_encoder": frozen, "total": trainable + frozen}

    def summary(self) -> str:
        """A short text: towers, sizes, frozen vs trainable parameters."""
        c, counts = self.model_config, self.parameter_counts()
        lines = [f"tsfuse Forecaster ({self.task.name}: target {self.task.target}, horizon {self.task.horizon})",
                 f"  text tower (frozen): {c.text_model or 'none'} -> {c.text_dim}-dim, projected to {c.text_proj_size}",
                 f"  temporal tower: {c.temporal}, hidden {c.hidden_size} x {c.num_layers} layers, "
                 f"context {c.context_length} months, covariates: {', '.join(c.covariates) or 'none'}",
                 f"  fusion MLP {c.fusion_size}; heads: value (quantiles {list(c.quantiles)}), trend (3), level (5)",
                 f"  parameters: trainable {counts['trainable']:,} | frozen text encoder "
                 f"{counts['frozen_text_encoder']:,}" + ("" if self._encoder or not c.text_model else " (not loaded yet)")]
        return "\n".join(lines)

    # --------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> Path:
        """Save as safetensors + JSON (atomic; no pickle). The text encoder is stored by name only;
        README texts are kept only for the projects of the fitted history (not the training corpus)."""
        kept = {} if self.history is None else {u: self.texts[u] for u in self.history[ID].unique() if u in self.texts}
        extra = {TEXTS_FILE: json.dumps(kept, sort_keys=True).encode()}
        if self.history is not None:
            extra[HISTORY_FILE] = self.history.to_csv(index=False, date_format="%Y-%m-%d").encode()
        config = {"tsfuse_version": __version__, "model": self.model_config.to_dict(),
                  "train": replace(self.train_config, **_run_defaults()).to_dict(), "task": asdict(self.task),
                  "info": self.info}
        state = {k: v for k, v in self.module.state_dict().items()}
        return save_model(directory, state, config, extra)

    @classmethod
    def load(cls, directory: str | Path) -> "Forecaster":
        """Load a folder written by :meth:`save` (checksums verified, never unpickles)."""
        state, config, extra = load_model(directory)
        try:
            task = TaskSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in config["task"].items()})
            history = None
            if HISTORY_FILE in extra:
                history = pd.read_csv(io.BytesIO(extra[HISTORY_FILE]), parse_dates=[DS])
                history[ID] = history[ID].astype(str)
            texts = json.loads(extra.get(TEXTS_FILE, b"{}"))
            return cls(ModelConfig.from_dict(config["model"]), task, TrainConfig.from_dict(config["train"]),
                       state=state, history=history, texts=texts, info=config.get("info", {}))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # config / weights this tsfuse cannot use
            raise ModelFileError(
                f"{directory} was saved by tsfuse {config.get('tsfuse_version', '(unknown)')} and does not fit "
                f"tsfuse {__version__}: {type(exc).__name__}: {exc}. Re-save it with this tsfuse, or install "
                "the one that saved it") from None
