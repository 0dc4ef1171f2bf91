"""Configuration: the architecture (:class:`ModelConfig`), how it is trained (:class:`TrainConfig`,
with its optimiser, fine-tuning and self-supervised groups), where a run happens
(:class:`RunConfig`: devices, precision, log folder; never saved with a model) and the named presets.

Callers pass overrides as flat dicts (``train={"max_epochs": 4, "lr": 1e-3, "log_dir": "runs"}``):
:func:`resolve_settings` sends each key to its group. The flat names of the groups' fields are
their prefixed names (``finetune_lr`` -> ``finetune.lr``, ``ssl_epochs`` -> ``ssl.epochs``); the
optimiser's fields keep their plain names (``lr``, ``weight_decay``, ...). A group may also be given
whole, as a dict (``train={"ssl": {"epochs": 5}}``).
"""

from __future__ import annotations

import functools
import numbers
import types
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)


class DictConfig:
    """``to_dict`` / ``from_dict`` for the config dataclasses (JSON round trip; unknown keys refused),
    and the type check of every field (a list given for a tuple field becomes a tuple)."""

    def __post_init__(self) -> None:
        hints = _type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list) and typing.get_origin(hints[f.name]) is tuple:
                value = tuple(value)
                object.__setattr__(self, f.name, value)
            if not _is_of(value, hints[f.name]):
                raise ValueError(f"{type(self).__name__}.{f.name} must be {_type_name(hints[f.name])}, "
                                 f"got {value!r} ({type(value).__name__})")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(known)}")
        return cls(**{k: _field_value(cls, k, v) for k, v in data.items()})


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a config class (its annotations are strings here)."""
    return typing.get_type_hints(cls)


def _is_of(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the type hint ``hint`` (bool is not a number here; an int is a float)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin is Literal:
        return value in args
    if origin in (typing.Union, types.UnionType):
        return any(_is_of(value, a) for a in args)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_is_of(v, args[0]) for v in value)
        return len(value) == len(args) and all(_is_of(v, a) for v, a in zip(value, args))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, (bool, np.bool_))
    if isinstance(value, (bool, np.bool_)):
        return False
    if hint is int:
        return isinstance(value, numbers.Integral)
    if hint is float:
        return isinstance(value, numbers.Real)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    """``hint`` as a reader would write it."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is tuple:
        plural = {bool: "bools", int: "integers", float: "numbers", str: "strings"}
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a tuple of {plural.get(args[0], args[0])}"
        return f"a tuple of {len(args)} " + " / ".join(sorted({plural.get(a, str(a)) for a in args}))
    if hint is type(None):
        return "None"
    return {bool: "True or False", int: "an integer", float: "a number", str: "a string"}.get(hint, hint.__name__)


def _field_value(cls: type, name: str, value: Any) -> Any:
    """A JSON value as the field wants it: lists become tuples, a group's dict its config."""
    if isinstance(value, dict) and name in getattr(cls, "GROUP_TYPES", {}):
        return cls.GROUP_TYPES[name].from_dict(value)
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class ModelConfig(DictConfig):
    """Architecture of the trainable network and the name of the frozen text encoder."""

    covariates: tuple[str, ...] = ()
    temporal: str = "lstm"  # a name of tsfuse.nn.towers.tower_names()
    context_length: int = 24
    horizon: int = 6
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4  # transformer only
    dropout: float = 0.1
    text_model: str | None = "all-MiniLM-L6-v2"  # None: no text tower at all
    text_dim: int = 384  # output size of the text encoder
    text_proj_size: int = 32
    fusion_size: int = 64
    quantiles: tuple[float, ...] = QUANTILES
    # The task's label rules (set from the TaskSpec when training): the class heads start from
    # the classes the value forecast implies under these rules and learn a correction.
    trend_tau: float = 0.2
    level_edges: tuple[float, ...] = (1.0, 10.0, 50.0, 200.0)
    # True (tsfuse 0.1): the trend / level losses also train the value head through the classes its
    # first 3 months imply, which widened p10-p90 there (not in months 4-6). False: only the value
    # loss shapes the quantiles; the class heads read them detached.
    class_loss_shapes_values: bool = True
    # the level values and targets are centred on: mean of the last 12 months (tsfuse 0.1), of the last
    # 3, or the last month (the network then forecasts a change from the naive forecast)
    centre: str = "mean12"
    # True: the fusion MLP also reads what a tree model sees (recent means, volatility, months since
    # the last active month and release...: tsfuse.data.features.HISTORY_FEATURES)
    history_features: bool = False
    # True: a learned gate set by the history length scales what the README adds (tsfuse.nn.heads.TextProjection)
    text_gate: bool = False
    # True: the trend / level heads sit on a temporal tower and fusion MLP of their own, trained by the
    # class losses only, so that weighing the class losses more cannot cost the value forecast (with
    # class_loss_shapes_values False the value trunk learns from the value loss alone); the frozen text
    # encoder and its projection are shared
    class_trunk: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.context_length < 12:
            raise ValueError(f"context_length must be >= 12 months, got {self.context_length}")
        if self.temporal == "transformer" and self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} must be divisible by num_heads {self.num_heads}")


@dataclass(frozen=True)
class OptimConfig(DictConfig):
    """Optimiser and learning-rate schedule."""

    lr: float = 2e-3
    weight_decay: float = 1e-4
    optimizer: Literal["adamw", "adam"] = "adamw"
    scheduler: Literal["cosine", "plateau", "none"] = "cosine"
    gradient_clip_val: float = 1.0


@dataclass(frozen=True)
class FinetuneConfig(DictConfig):
    """Fine-tuning a pretrained model on one project (progressive unfreezing, guarded)."""

    freeze_epochs: int = 2  # epochs with the temporal tower frozen
    lr: float = 1e-4  # 5e-4 overfit one project (benchmarks/results/finetune-sweep.md)
    max_epochs: int = 15
    batch_size: int = 32  # one project has few windows: small batches give enough steps
    temporal_lr_scale: float = 0.3  # the temporal tower's learning rate relative to lr once it trains


@dataclass(frozen=True)
class SSLConfig(DictConfig):
    """Self-supervised (CoLES) pretraining of the temporal tower, see :mod:`tsfuse.train.ssl`."""

    epochs: int = 0  # 0: off
    crops: int = 4  # random sub-sequences per project and step (positives of each other)
    min_len: int = 9  # sub-sequence length is uniform in [min_len, context_length]
    temperature: float = 0.1
    lr: float = 5e-3
    batch_projects: int = 64  # projects per step (the other projects' crops are the negatives)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.epochs == 0:
            return
        if self.crops < 2:
            raise ValueError(f"ssl_crops must be >= 2 (a crop needs a positive from its own project), got {self.crops}")
        if self.temperature <= 0 or self.lr <= 0:
            raise ValueError(f"ssl_temperature and ssl_lr must be > 0, got {self.temperature} and {self.lr}")
        if self.batch_projects < 2:
            raise ValueError(f"ssl_batch_projects must be >= 2 (other projects are the negatives), "
                             f"got {self.batch_projects}")


@dataclass(frozen=True)
class TrainConfig(DictConfig):
    """How the network is trained: epochs, windows, losses, and the optimiser / fine-tuning / SSL groups.

    Saved with a model (it says how the weights came about); where the run happened is a
    :class:`RunConfig`, which is not.
    """

    max_epochs: int = 30
    batch_size: int = 256  # the global batch (shared out across DDP processes)
    patience: int = 5
    val_months: int = 6  # the latest origins held out for early stopping
    # pretraining only: share of the projects (picked by a hash of their unique_id) left out of the first
    # fit entirely; the validation windows (early stopping, calibration) are then only theirs, so they
    # measure projects the model never saw, as a cross-project forecast does. 0: every project's latest
    # months validate. The refit trains on every project.
    val_projects: float = 0.0
    min_history: int = 3  # fewest months of context of a training window (< 12 teaches the cold start)
    stride: int = 1  # take every stride-th origin as a training window
    refit: bool = True  # after early stopping, retrain on all windows (validation ones too) for the best epoch count
    loss_weights: tuple[float, float, float] = (1.0, 0.3, 0.3)  # value, trend, level
    # share of the value loss on MASE's scale (pinball of counts / the window's mean absolute change),
    # the rest on normalised log1p values (0: all on the log scale, tsfuse 0.1's loss)
    value_loss_mase_weight: float = 0.0
    # share of training windows whose README is hidden (the model's no-README vector instead) in each
    # training step, so that it cannot lean on a project's identity; validation and prediction see every README
    text_dropout: float = 0.0
    # time constant, in epochs of optimiser steps, of an exponential moving average of the weights in
    # pretraining (validation, early stopping, the best checkpoint and the final model all use the
    # averaged weights); 0: off. Fine-tuning does not average.
    ema_epochs: float = 0.0
    # after the first fit, calibrate the quantile band per horizon step and the class probabilities on
    # the validation windows (:mod:`tsfuse.train.calibration`); the model applies it to every forecast
    calibrate: bool = False
    class_weights: Literal["balanced", "sqrt", "none"] = "balanced"
    label_smoothing: float = 0.05
    seed: int = 0
    optim: OptimConfig = field(default_factory=OptimConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    ssl: SSLConfig = field(default_factory=SSLConfig)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_history < 1:
            raise ValueError(f"min_history must be >= 1 month, got {self.min_history}")
        for name in ("value_loss_mase_weight", "text_dropout"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a share in [0, 1], got {getattr(self, name)}")
        if self.ema_epochs < 0:
            raise ValueError(f"ema_epochs must be >= 0 (0: no weight averaging), got {self.ema_epochs}")
        if not 0.0 <= self.val_projects < 1.0:
            raise ValueError(f"val_projects must be a share in [0, 1) (0: no project held out), got {self.val_projects}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """A saved ``train`` config: grouped (this version) or flat (models saved by tsfuse 0.1.0,
        whose run settings are dropped)."""
        if not any(isinstance(v, dict) for v in data.values()):
            return resolve_settings(cls(), RunConfig(), data)[0]
        return super().from_dict(data)


@dataclass(frozen=True)
class RunConfig(DictConfig):
    """Where and how one run executes (Lightning Trainer options); never saved with a model.

    ``accelerator="auto"`` picks GPUs when present; e.g. ``accelerator="gpu", devices=4,
    strategy="ddp", num_nodes=2`` (docs/scaling.md). ``precision="16-mixed"`` or ``"bf16-mixed"``
    trains in mixed precision on GPUs; ``accumulate_grad_batches=k`` sums gradients over k batches
    per optimiser step (an effective batch k times larger).
    """

    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    accumulate_grad_batches: int = 1
    num_workers: int = 0  # data-loader worker processes
    progress_bar: bool = True
    logger: Literal["csv", "tensorboard", "none"] = "csv"
    log_dir: str | None = None  # default: a temporary folder
    resume: bool = False  # continue from log_dir's last checkpoints (after an interruption)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.resume and not self.log_dir:
            raise ValueError("resume=True needs log_dir: the folder whose checkpoints training continues from")
        if self.accumulate_grad_batches < 1:
            raise ValueError(f"accumulate_grad_batches must be >= 1, got {self.accumulate_grad_batches}")


GROUPS: dict[str, type[DictConfig]] = {"optim": OptimConfig, "finetune": FinetuneConfig, "ssl": SSLConfig}
TrainConfig.GROUP_TYPES = GROUPS
_GROUP_PREFIX = {"optim": "", "finetune": "finetune_", "ssl": "ssl_"}
# flat name -> (group, field); the run settings and TrainConfig's own fields keep their names
FLAT_NAMES: dict[str, tuple[str, str]] = {
    f"{_GROUP_PREFIX[group]}{f.name}": (group, f.name) for group, kind in GROUPS.items() for f in fields(kind)}
FLAT_NAMES["freeze_epochs"] = ("finetune", "freeze_epochs")  # its flat name since 0.1.0
del FLAT_NAMES["finetune_freeze_epochs"]
RUN_NAMES = tuple(f.name for f in fields(RunConfig))


def resolve_settings(train: TrainConfig, run: RunConfig, overrides: dict[str, Any] | None) -> tuple[TrainConfig, RunConfig]:
    """``train`` and ``run`` with flat ``overrides`` applied, each key sent to its group.

    Args:
        train: the training settings to start from (a preset's).
        run: the run settings to start from.
        overrides: flat names (``lr``, ``finetune_lr``, ``ssl_epochs``, ``log_dir``, ``max_epochs``)
            or whole groups as dicts (``{"ssl": {"epochs": 5}}``).

    Returns:
        The new ``(TrainConfig, RunConfig)``.

    Raises:
        ValueError: for a name no config has (the message lists the known ones).
    """
    own = {f.name for f in fields(TrainConfig)} - set(GROUPS)
    top, groups, run_kw = {}, {name: {} for name in GROUPS}, {}
    for key, value in (overrides or {}).items():
        if key in GROUPS:
            groups[key].update(value if isinstance(value, dict) else asdict(value))
        elif key in own:
            top[key] = tuple(value) if isinstance(value, list) else value
        elif key in FLAT_NAMES:
            group, name = FLAT_NAMES[key]
            groups[group][name] = value
        elif key in RUN_NAMES:
            run_kw[key] = value
        else:
            known = sorted(own | set(FLAT_NAMES) | set(RUN_NAMES) | set(GROUPS))
            raise ValueError(f"unknown training setting {key!r}; known: {known}")
    for name, kw in groups.items():
        if kw:
            top[name] = replace(getattr(train, name), **kw)
    return replace(train, **top), replace(run, **run_kw)


@dataclass(frozen=True)
class Preset:
    """A named architecture and training recipe."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


PRESETS: dict[str, Preset] = {
    "light": Preset(ModelConfig(hidden_size=32, num_layers=1, fusion_size=32, text_proj_size=16),
                    TrainConfig(max_epochs=15)),
    "balanced": Preset(),
    "high": Preset(ModelConfig(temporal="transformer", hidden_size=128, num_layers=3, fusion_size=128,
                               text_model="sentence-transformers/all-mpnet-base-v2", text_dim=768,
                               text_proj_size=64, context_length=36),
                   TrainConfig(max_epochs=60, patience=8)),
}


def get_preset(name: str, **model_overrides: Any) -> Preset:
    """A named preset, with model fields overridden (e.g. ``temporal="transformer"``).

    Args:
        name: one of :data:`PRESETS` (``light``, ``balanced``, ``high``).
        **model_overrides: :class:`ModelConfig` fields to change.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    preset = PRESETS[name]
    return Preset(replace(preset.model, **model_overrides), preset.train)


# What the cross-project benchmarks kept for each corpus on top of a preset (issue 14; the headline
# pages benchmarks/results/<corpus>-cross-project.md ran with exactly these): `tsfuse pretrain
# --corpus NAME` applies them, so the shipped models are trained with them. A task without an entry
# trains with its preset alone.
_OSS_ACTIVITY_RECIPE: dict[str, dict[str, Any]] = {
    "model": {"class_loss_shapes_values": False, "text_gate": True},
    "train": {"value_loss_mase_weight": 0.5, "text_dropout": 0.5, "ema_epochs": 1.0, "calibrate": True}}
CORPUS_RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "oss-activity": _OSS_ACTIVITY_RECIPE,
    # the same task on the larger corpus: its cross-project page ran with the same recipe, and the shipped
    # oss-activity model is trained on it (issue 13)
    "oss-activity-v2": _OSS_ACTIVITY_RECIPE,
    "opendigger": {"model": {"class_loss_shapes_values": False, "centre": "last"},
                   "train": {"ema_epochs": 1.0, "calibrate": True}},
}


def corpus_recipe(task_name: str) -> dict[str, dict[str, Any]]:
    """``{"model": ModelConfig overrides, "train": flat training overrides}`` of :data:`CORPUS_RECIPES`
    for the task ``task_name`` (both empty for a task without a recipe).

    Args:
        task_name: a task's name (``oss-activity``, ``opendigger``, ...).
    """
    recipe = CORPUS_RECIPES.get(task_name, {})
    return {"model": dict(recipe.get("model", {})), "train": dict(recipe.get("train", {}))}
