"""Configuration dataclasses (model, training) and the named presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

QUANTILES = (0.1, 0.5, 0.9)


class DictConfig:
    """``to_dict`` / ``from_dict`` for the config dataclasses (JSON round trip; unknown keys refused)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass(frozen=True)
class ModelConfig(DictConfig):
    """Architecture of the trainable network and the name of the frozen text encoder."""

    covariates: tuple[str, ...] = ()
    temporal: Literal["lstm", "transformer"] = "lstm"
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

    def __post_init__(self) -> None:
        if self.temporal not in ("lstm", "transformer"):
            raise ValueError(f"temporal must be 'lstm' or 'transformer', got {self.temporal!r}")
        if self.context_length < 12:
            raise ValueError(f"context_length must be >= 12 months, got {self.context_length}")
        if self.temporal == "transformer" and self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} must be divisible by num_heads {self.num_heads}")


@dataclass(frozen=True)
class TrainConfig(DictConfig):
    """How the network is trained (Lightning Trainer and optimiser settings)."""

    max_epochs: int = 30
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    optimizer: Literal["adamw", "adam"] = "adamw"
    scheduler: Literal["cosine", "plateau", "none"] = "cosine"
    gradient_clip_val: float = 1.0
    patience: int = 5
    val_months: int = 6  # the latest origins held out for early stopping
    min_history: int = 3  # fewest months of context of a training window (< 12 teaches the cold start)
    stride: int = 1  # take every stride-th origin as a training window
    refit: bool = True  # after early stopping, retrain on all windows (validation ones too) for the best epoch count
    loss_weights: tuple[float, float, float] = (1.0, 0.3, 0.3)  # value, trend, level
    class_weights: Literal["balanced", "sqrt", "none"] = "balanced"
    label_smoothing: float = 0.05
    seed: int = 0
    num_workers: int = 0
    # Where training runs: Lightning Trainer options (docs/scaling.md). "auto" picks GPUs when present;
    # e.g. accelerator="gpu", devices=4, strategy="ddp", num_nodes=2. batch_size is the global batch.
    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
    num_nodes: int = 1
    progress_bar: bool = True
    logger: Literal["csv", "tensorboard", "none"] = "csv"
    log_dir: str | None = None  # default: a temporary folder
    resume: bool = False  # continue from log_dir's last checkpoints (after an interruption)
    freeze_epochs: int = 2  # fine-tuning: epochs with the temporal tower frozen
    finetune_lr: float = 1e-4  # 5e-4 overfit one project (benchmarks/results/finetune-sweep.md)
    finetune_max_epochs: int = 15
    finetune_batch_size: int = 32  # one project has few windows: small batches give enough steps
    # Self-supervised (CoLES) pretraining of the temporal tower before the supervised training, see tsfuse.train.ssl
    ssl_epochs: int = 0  # 0: off
    ssl_crops: int = 4  # random sub-sequences per project and step (positives of each other)
    ssl_min_len: int = 9  # sub-sequence length is uniform in [ssl_min_len, context_length]
    ssl_temperature: float = 0.1
    ssl_lr: float = 5e-3
    ssl_batch_projects: int = 64  # projects per step (the other projects' crops are the negatives)

    def __post_init__(self) -> None:
        if self.min_history < 1:
            raise ValueError(f"min_history must be >= 1 month, got {self.min_history}")
        if self.resume and not self.log_dir:
            raise ValueError("resume=True needs log_dir: the folder whose checkpoints training continues from")


@dataclass(frozen=True)
class Preset:
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
    """A named preset, with model fields overridden (e.g. ``temporal="transformer"``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    preset = PRESETS[name]
    return Preset(replace(preset.model, **model_overrides), preset.train)
