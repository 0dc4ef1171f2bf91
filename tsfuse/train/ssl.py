"""Self-supervised pretraining of the temporal tower in the spirit of CoLES (contrastive learning of
event sequences, Babaev et al. 2022; pytorch-lifestream).

Each step takes a batch of projects and, from each project's months strictly before the cut-off,
``ssl_crops`` random contiguous sub-sequences (length uniform in [``ssl_min_len``,
``context_length``]). A crop becomes the same per-month channels as a supervised window
(:func:`tsfuse.data.features.build_inputs`: log1p centred on the crop's own last 12 months, covariates,
mask, month of year; left-padded). The tower encodes each crop, a small projection head (dropped
afterwards) maps it to the contrastive space, and a softmax contrastive loss with temperature pulls
crops of the same project together and pushes the other projects' crops away.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

from tsfuse.config import ModelConfig, RunConfig, TrainConfig
from tsfuse.data.schema import DS, ID, Y
from tsfuse.data.windows import SCALE_MONTHS, WindowSet
from tsfuse.data.features import FeatureSpec, build_inputs
from tsfuse.train.trainer import Phase, run_training


@dataclass
class Histories:
    """Each project's months before the cut-off (only projects with at least ``min_len`` of them)."""

    unique_id: np.ndarray  # [P] str
    first_month: np.ndarray  # [P] month index (months since 1970-01) of each series' first month
    values: list[np.ndarray]  # P arrays [n_p]
    covariates: list[np.ndarray]  # P arrays [n_p, C]
    covariate_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.unique_id)


def project_histories(panel: pd.DataFrame, covariates: tuple[str, ...], before: str | pd.Timestamp | None,
                      min_len: int) -> Histories:
    """The rows of ``panel`` (validated, sorted) with ``ds`` strictly before ``before``, per project."""
    names = tuple(c for c in covariates if c in panel.columns)
    rows = panel if before is None else panel[panel[DS] < pd.Timestamp(before)]
    ids, firsts, values, covs = [], [], [], []
    for uid, g in rows.groupby(ID, sort=True):
        if len(g) < min_len:
            continue
        ids.append(str(uid))
        firsts.append(np.datetime64(g[DS].iloc[0], "M").astype(np.int64))
        values.append(g[Y].to_numpy(float))
        covs.append(g[list(names)].to_numpy(float) if names else np.zeros((len(g), 0)))
    return Histories(np.array(ids, dtype=object), np.array(firsts, np.int64), values, covs, names)


def crop_windows(h: Histories, project: np.ndarray, start: np.ndarray, length: np.ndarray,
                 context_length: int) -> WindowSet:
    """Crops as context-only windows: crop i is ``h.values[project[i]][start[i]:start[i]+length[i]]``,
    left-padded to ``context_length``; its origin is the month after its last month."""
    n, L, C = len(project), context_length, len(h.covariate_names)
    history, mask, cov, scale = np.zeros((n, L)), np.zeros((n, L)), np.zeros((n, L, C)), np.zeros(n)
    for i, (p, s, k) in enumerate(zip(project, start, length)):
        y = h.values[p][s:s + k]
        history[i, L - k:], mask[i, L - k:] = y, 1.0
        cov[i, L - k:] = h.covariates[p][s:s + k]
        scale[i] = y[-SCALE_MONTHS:].mean()
    end = start + length
    return WindowSet(unique_id=h.unique_id[project], origin=(h.first_month[project] + end).astype("datetime64[M]"),
                     context=history, mask=mask, covariates=cov, covariate_names=h.covariate_names,
                     age=end.astype(np.int64), scale=scale, target=np.full((n, 1), np.nan),
                     trend=np.full(n, -1, np.int64), level=np.full(n, -1, np.int64))


class CropDataset(Dataset):
    """Indexed by a list of project positions; returns ``n_crops`` fresh random crops of each:
    ``series`` [P*K, L, F] (the model's channels), ``mask`` [P*K, L], ``project`` [P*K]."""

    def __init__(self, histories: Histories, covariates: tuple[str, ...], context_length: int, n_crops: int,
                 min_len: int, seed: int = 0, centre: str = "mean12") -> None:
        self.h = histories
        self.centre = centre  # as the model's inputs (ModelConfig.centre)
        self.covariates = covariates
        self.spec = FeatureSpec.for_covariates(covariates)
        self.context_length = context_length
        self.n_crops = n_crops
        self.min_len = min_len
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.h)

    def __getitem__(self, index) -> dict[str, torch.Tensor]:
        project = np.repeat(np.asarray(index, np.int64), self.n_crops)
        months = np.array([len(self.h.values[p]) for p in project])
        length = self.rng.integers(self.min_len, np.minimum(months, self.context_length) + 1)
        start = self.rng.integers(0, months - length + 1)
        windows = crop_windows(self.h, project, start, length, self.context_length)
        arrays = build_inputs(windows, self.covariates, np.zeros((len(project), 0)), np.zeros(len(project)),
                              self.centre)
        inputs = {k: torch.from_numpy(v) for k, v in arrays.items()}
        return {"series": self.spec.series(inputs), "mask": inputs["mask"],
                "project": torch.from_numpy(project)}


def coles_loss(z: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Softmax contrastive loss with several positives per anchor (InfoNCE / SupCon form).

    ``z`` [N, D] embeddings (L2-normalised here), ``labels`` [N] (equal = positives). For each
    anchor, minus the mean over its positives of log softmax(cosine / temperature) among all other
    crops of the batch.
    """
    z = F.normalize(z, dim=-1)
    self_pair = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = (z @ z.T / temperature).masked_fill(self_pair, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~self_pair
    per_anchor = -log_prob.masked_fill(~positive, 0.0).sum(1) / positive.sum(1).clamp_min(1)
    return per_anchor.mean()


class ContrastivePretraining(pl.LightningModule):
    """The temporal tower (trained in place) + a projection head, trained with :func:`coles_loss`."""

    def __init__(self, encoder: nn.Module, train_config: TrainConfig) -> None:
        super().__init__()
        self.encoder = encoder
        size = encoder.out_size
        self.head = nn.Sequential(nn.Linear(size, size), nn.BatchNorm1d(size), nn.ReLU(), nn.Linear(size, size))
        self.train_config = train_config

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        z = self.head(self.encoder(batch["series"], batch["mask"]))
        loss = coles_loss(z, batch["project"], self.train_config.ssl.temperature)
        # logged as train_loss: run_training's loss curve records its epoch means
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(z))
        return loss

    def configure_optimizers(self):
        cfg = self.train_config
        opt_cls = torch.optim.AdamW if cfg.optim.optimizer == "adamw" else torch.optim.Adam
        optimizer = opt_cls(self.parameters(), lr=cfg.ssl.lr, weight_decay=cfg.optim.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, self.trainer.max_epochs or 1))
        return {"optimizer": optimizer, "lr_scheduler": schedule}


def crop_loader(histories: Histories, model_config: ModelConfig, train_config: TrainConfig,
                num_workers: int = 0) -> DataLoader:
    """Shuffled batches of ``ssl.batch_projects`` projects, ``ssl.crops`` fresh crops each (seeded)."""
    ssl = train_config.ssl
    dataset = CropDataset(histories, model_config.covariates, model_config.context_length, ssl.crops,
                          ssl.min_len, seed=train_config.seed, centre=model_config.centre)
    sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(train_config.seed))
    # a last batch of one project would have no negatives
    batches = BatchSampler(sampler, ssl.batch_projects, drop_last=len(dataset) > ssl.batch_projects)
    return DataLoader(dataset, sampler=batches, batch_size=None, num_workers=num_workers)


def pretrain_temporal(tower: nn.Module, panel: pd.DataFrame, model_config: ModelConfig, train_config: TrainConfig,
                      run: RunConfig, before: str | pd.Timestamp | None = None) -> dict:
    """Train ``tower`` in place for ``train_config.ssl.epochs`` epochs of contrastive pretraining.

    Args:
        tower: the temporal tower (trained in place).
        panel: a checked panel; only its months strictly before ``before`` are read (all if None).
        model_config: the architecture (context length, covariates).
        train_config: the ``ssl`` group (crops, lengths, temperature, lr) and the seed.
        run: where it runs.
        before: the cut-off.

    Returns:
        ``{"epochs", "projects", "first_loss", "final_loss", "losses"}`` (mean loss per epoch).
    """
    ssl = train_config.ssl
    if not 1 <= ssl.min_len <= model_config.context_length:
        raise ValueError(f"ssl_min_len must be in [1, context_length={model_config.context_length}], "
                         f"got {ssl.min_len}")
    histories = project_histories(panel, model_config.covariates, before, ssl.min_len)
    if len(histories) < 2:
        raise ValueError(f"self-supervised pretraining needs at least 2 projects with >= ssl_min_len="
                         f"{ssl.min_len} months{' before ' + str(before) if before is not None else ''}; "
                         f"got {len(histories)}: lower ssl_min_len or set ssl_epochs=0")
    torch.manual_seed(train_config.seed)  # the projection head's initial weights
    module = ContrastivePretraining(tower, train_config).train()  # the tower may come in eval mode
    loader = crop_loader(histories, model_config, train_config, run.num_workers)
    record = run_training(module, loader, None, train_config, run,
                          Phase("ssl", max_epochs=ssl.epochs, warn_without_val=False))
    losses = [round(epoch["train_loss"], 5) for epoch in record["curve"]]
    return {"epochs": len(losses), "projects": len(histories), "first_loss": losses[0], "final_loss": losses[-1],
            "losses": losses}
