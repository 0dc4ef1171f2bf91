"""The temporal-tower registry."""

import pytest
import torch

from tsfuse.config import ModelConfig
from tsfuse.nn import TwoTowerNet, build_tower, register_tower, tower_names


def test_the_shipped_towers_are_registered_and_keep_their_weight_names():
    assert {"lstm", "transformer"} <= set(tower_names())
    assert list(tower_names()) == sorted(tower_names())
    lstm = build_tower(ModelConfig(hidden_size=8, num_layers=2), 5)
    assert {"input.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l1"} <= set(lstm.state_dict())
    transformer = build_tower(ModelConfig(temporal="transformer", hidden_size=8, num_heads=2), 5)
    assert {"input.weight", "position", "encoder.layers.0.self_attn.in_proj_weight", "out.weight"} <= set(
        transformer.state_dict())
    for tower in (lstm, transformer):
        assert tower(torch.randn(3, 24, 5), torch.ones(3, 24)).shape == (3, tower.out_size) == (3, 8)


def test_unknown_tower_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match=r"unknown temporal tower 'nope'; choose one of \(.*'lstm'.*'transformer'"):
        TwoTowerNet(ModelConfig(temporal="nope"))


def test_a_name_registers_once():
    with pytest.raises(ValueError, match="registered twice"):
        register_tower("lstm")(torch.nn.Identity)
