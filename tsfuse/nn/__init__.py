"""Trainable network parts: temporal towers, text projection, fusion and heads."""

from tsfuse.nn.net import PARTS, TwoTowerNet

__all__ = ["PARTS", "TwoTowerNet"]
