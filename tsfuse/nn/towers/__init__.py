"""Temporal towers: encode a window's context months into one vector.

A tower is an ``nn.Module`` built as ``Tower(config, in_channels)`` from the
:class:`~tsfuse.config.ModelConfig` and the number of per-month channels; it has ``out_size``
and ``forward(series [B, L, in_channels], mask [B, L]) -> [B, out_size]`` (mask: 1 for a real
month, 0 for the left padding; the newest month, ``series[:, -1]``, is always real).

Adding a tower: one file in this folder whose class is decorated with ``@register_tower("name")``,
plus its import line at the bottom of this file. ``ModelConfig(temporal="name")`` then selects it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:
    from tsfuse.config import ModelConfig

_TOWERS: dict[str, type[nn.Module]] = {}


def register_tower(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make the tower class selectable as ``ModelConfig(temporal=name)``.

    Args:
        name: the tower's name in configs and on the command line.
    """
    def register(cls: type[nn.Module]) -> type[nn.Module]:
        if name in _TOWERS:
            raise ValueError(f"temporal tower {name!r} is registered twice")
        _TOWERS[name] = cls
        return cls
    return register


def tower_names() -> tuple[str, ...]:
    """The registered tower names, sorted (for config checks and CLI choices)."""
    return tuple(sorted(_TOWERS))


def build_tower(config: ModelConfig, in_channels: int) -> nn.Module:
    """The tower ``config.temporal`` names.

    Args:
        config: the architecture (``temporal``, ``hidden_size``, ``num_layers``, ...).
        in_channels: per-month input channels (``FeatureSpec.series_channels``).

    Raises:
        ValueError: for a name no tower is registered under (the message lists them).
    """
    if config.temporal not in _TOWERS:
        raise ValueError(f"unknown temporal tower {config.temporal!r}; choose one of {tower_names()}")
    return _TOWERS[config.temporal](config, in_channels)


# The towers register themselves on import (after the registry above exists).
from tsfuse.nn.towers import lstm, transformer  # noqa: E402,F401
