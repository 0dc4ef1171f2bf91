"""Trainable network parts: temporal towers, text projection, fusion and heads."""

from tsfuse.nn.net import PARTS, TwoTowerNet
from tsfuse.nn.towers import build_tower, register_tower, tower_names

__all__ = ["PARTS", "TwoTowerNet", "build_tower", "register_tower", "tower_names"]
