"""The composed two-tower network (without the frozen text encoder, which runs outside).

A batch is a dict of named tensors (:func:`tsfuse.data.features.build_inputs`; B windows, L
months): the temporal tower reads ``values``, ``covariates``, ``mask``, ``calendar`` joined per
month in :class:`~tsfuse.data.features.FeatureSpec` order, the fusion MLP the tower's vector,
the projected ``text`` and the static features ``log_scale``, ``age``, ``cov_scale``,
``cov_present``. Outputs: ``quantiles`` [B, H, Q] (normalised log1p), ``trend`` [B, 3] and
``level`` [B, 5] logits.
"""

from __future__ import annotations

import torch
from torch import nn

from tsfuse.config import ModelConfig
from tsfuse.data.features import FeatureSpec
from tsfuse.data.tasks import N_LEVELS, TREND_CLASSES
from tsfuse.nn.heads import ClassHead, FusionMLP, ImpliedClasses, QuantileHead, TextProjection, value_summary
from tsfuse.nn.towers import build_tower

PARTS = ("temporal", "text", "fusion", "heads")
CLASS_HEADS = ("trend", "level")
N_VALUE_SUMMARY = 2  # what the class heads read from the value head (see value_summary)


class TwoTowerNet(nn.Module):
    """Temporal tower + projected text vector + static features -> fusion -> value/trend/level heads.

    Args:
        config: the architecture; its ``covariates`` give the input channels (a :class:`FeatureSpec`).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.spec = FeatureSpec.for_covariates(config.covariates, config.history_features)
        self.temporal = build_tower(config, self.spec.series_channels)
        self.text = TextProjection(config.text_dim, config.text_proj_size, config.text_gate) if config.text_model else None
        text_size = config.text_proj_size if config.text_model else 0
        fused_in = self.temporal.out_size + text_size + self.spec.static_size
        self.fusion = FusionMLP(fused_in, config.fusion_size, config.dropout)
        if config.class_trunk:  # the class heads' own trunk (ModelConfig.class_trunk)
            self.class_temporal = build_tower(config, self.spec.series_channels)
            self.class_fusion = FusionMLP(fused_in, config.fusion_size, config.dropout)
        class_in = config.fusion_size + N_VALUE_SUMMARY
        self.heads = nn.ModuleDict({
            "value": QuantileHead(config.fusion_size, config.horizon, config.quantiles),
            "trend": ClassHead(class_in, len(TREND_CLASSES), "trend"),
            "level": ClassHead(class_in, N_LEVELS, "level"),
            "implied": ImpliedClasses(config.trend_tau, config.level_edges),
        })

    def series_input(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The temporal tower's input [B, L, F] (see :meth:`FeatureSpec.series`)."""
        return self.spec.series(batch)

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The fused project embedding [B, fusion_size] (of the value trunk)."""
        return self._fused(batch, self.temporal, self.fusion)

    def _fused(self, batch: dict[str, torch.Tensor], temporal: nn.Module, fusion: nn.Module) -> torch.Tensor:
        parts = [temporal(self.series_input(batch), batch["mask"])]  # [B, hidden]
        if self.text is not None:
            parts.append(self.text(batch["text"], batch["text_present"], batch["age"]))  # [B, text_proj]
        parts.append(self.spec.static(batch))  # [B, 2 + 2C]
        return fusion(torch.cat(parts, dim=-1))

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``quantiles`` [B, H, Q], ``trend`` [B, 3] and ``level`` [B, 5] logits."""
        z = self.forward_features(batch)
        quantiles = self.heads["value"](z)  # [B, H, Q], normalised log space
        # what the class heads read of the value forecast; detached, the class losses cannot reshape the band
        seen = quantiles if self.config.class_loss_shapes_values else quantiles.detach()
        zc = self._fused(batch, self.class_temporal, self.class_fusion) if self.config.class_trunk else z
        zv = torch.cat([zc, value_summary(seen, batch)], dim=-1)
        trend_prior, level_prior = self.heads["implied"](seen, batch)
        return {"quantiles": quantiles,
                "trend": trend_prior + self.heads["trend"](zv),
                "level": level_prior + self.heads["level"](zv)}

    def losses(self, batch: dict[str, torch.Tensor], label_smoothing: float = 0.0,
               loss_weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
               mase_weight: float = 0.0) -> dict[str, torch.Tensor]:
        """Each head's loss on ``batch`` and their weighted sum.

        Args:
            batch: named inputs with ``target``, ``target_mask``, ``trend`` and ``level``.
            label_smoothing: of the class heads' cross-entropy.
            loss_weights: weights of the value, trend and level losses in ``loss``.
            mase_weight: share of the value loss on MASE's scale (see :meth:`QuantileHead.loss`).

        Returns:
            ``{"loss", "value", "trend", "level"}`` (scalars).
        """
        out = self(batch)
        value = self.heads["value"].loss(out["quantiles"], batch, mase_weight)
        trend = self.heads["trend"].loss(out["trend"], batch, label_smoothing)
        level = self.heads["level"].loss(out["level"], batch, label_smoothing)
        wv, wt, wl = loss_weights
        return {"loss": wv * value + wt * trend + wl * level, "value": value, "trend": trend, "level": level}

    def _class_head(self, name: str) -> ClassHead:
        if name not in CLASS_HEADS:
            raise ValueError(f"unknown class head {name!r}; class heads are {CLASS_HEADS}")
        return self.heads[name]

    def class_weights(self, name: str) -> torch.Tensor:
        """The loss weights [K] of class head ``name`` (``"trend"`` or ``"level"``)."""
        return self._class_head(name).class_weights

    def set_class_weights(self, name: str, weights: torch.Tensor) -> None:
        """Set the loss weights [K] of class head ``name`` (``"trend"`` or ``"level"``).

        Args:
            name: ``"trend"`` or ``"level"``.
            weights: one weight per class.
        """
        self._class_head(name).class_weights.copy_(weights)

    def reset_heads(self) -> None:
        """Re-initialise the heads' parameters as at construction (class weights and rules are kept)."""
        for head in self.heads.values():
            head.reset_parameters()

    def part(self, name: str) -> nn.Module | None:
        """One of the named parts (:data:`PARTS`); None for the text part of a model without text.
        With a class trunk, ``temporal`` and ``fusion`` hold both trunks' towers and MLPs."""
        if name not in PARTS:
            raise ValueError(f"unknown part {name!r}; parts are {PARTS}")
        if self.config.class_trunk and name in ("temporal", "fusion"):
            return nn.ModuleList([getattr(self, name), getattr(self, f"class_{name}")])
        return getattr(self, name)

    def freeze(self, *parts: str) -> None:
        """Stop training the named parts (all parts without arguments)."""
        self._set_trainable(parts, False)

    def unfreeze(self, *parts: str) -> None:
        """Train the named parts again (all parts without arguments)."""
        self._set_trainable(parts, True)

    def _set_trainable(self, parts: tuple[str, ...], trainable: bool) -> None:
        modules = [self.part(name) for name in parts or PARTS]  # an unknown name raises before any change
        for module in modules:
            if module is not None:
                module.requires_grad_(trainable)
