import pytest
import torch

from tsfuse.config import ModelConfig
from tsfuse.data.features import series_channels, static_features
from tsfuse.nn import TwoTowerNet


def _batch(cfg: ModelConfig, b: int = 5) -> dict[str, torch.Tensor]:
    c = len(cfg.covariates)
    series = torch.randn(b, cfg.context_length, series_channels(c))
    series[..., -3] = 1.0  # mask channel: all months real
    series[0, :10, -3] = 0.0  # one window padded on the left
    return {"series": series, "static": torch.randn(b, static_features(c)),
            "text": torch.randn(b, cfg.text_dim), "text_present": torch.tensor([1.0, 0, 1, 0, 1])[:b]}


@pytest.mark.parametrize("temporal", ["lstm", "transformer"])
def test_forward_shapes_and_monotone_quantiles(temporal):
    cfg = ModelConfig(covariates=("a", "b"), temporal=temporal, hidden_size=16, num_heads=2, text_dim=12,
                      text_proj_size=4, fusion_size=8)
    net = TwoTowerNet(cfg)
    out = net(_batch(cfg))
    assert out["quantiles"].shape == (5, 6, 3)
    assert out["trend"].shape == (5, 3) and out["level"].shape == (5, 5)
    q = out["quantiles"]
    assert torch.all(q[..., 0] <= q[..., 1]) and torch.all(q[..., 1] <= q[..., 2])
    assert net.forward_features(_batch(cfg)).shape == (5, 8)


def test_no_text_vector_used_when_readme_empty():
    cfg = ModelConfig(hidden_size=8, text_dim=6, text_proj_size=4, fusion_size=8)
    net = TwoTowerNet(cfg)
    with torch.no_grad():
        net.text.no_text.fill_(3.0)
    out = net.text(torch.randn(2, 6), torch.tensor([0.0, 1.0]))
    assert torch.allclose(out[0], torch.full((4,), 3.0))
    assert not torch.allclose(out[1], torch.full((4,), 3.0))


def test_model_without_text_tower_ignores_text():
    cfg = ModelConfig(hidden_size=8, text_model=None, fusion_size=8)
    net = TwoTowerNet(cfg).eval()
    batch = _batch(cfg)
    other = dict(batch, text=torch.randn_like(batch["text"]))
    assert net.text is None
    assert torch.allclose(net(batch)["quantiles"], net(other)["quantiles"])


def test_set_trainable_freezes_one_part():
    net = TwoTowerNet(ModelConfig(hidden_size=8, fusion_size=8))
    net.set_trainable("temporal", False)
    assert not any(p.requires_grad for p in net.temporal.parameters())
    assert all(p.requires_grad for p in net.heads.parameters())
    with pytest.raises(ValueError, match="unknown part"):
        net.set_trainable("encoder", False)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="temporal"):
        ModelConfig(temporal="gru")
    with pytest.raises(ValueError, match="context_length"):
        ModelConfig(context_length=6)
    with pytest.raises(ValueError, match="unknown ModelConfig"):
        ModelConfig.from_dict({"hidden": 3})


def test_implied_class_probabilities_follow_the_benchmark_rules():
    from tsfuse.nn.net import implied_class_log_probs

    # log_scale = log1p(20); history flat at 20/month; forecasts: collapse, same, surge
    log_scale = torch.log1p(torch.tensor(20.0))
    medians = torch.log1p(torch.tensor([0.5, 20.0, 300.0])) - log_scale
    q = medians.view(3, 1, 1).expand(3, 6, 3).clone()
    q[..., 0] -= 0.01
    q[..., 2] += 0.01  # a very narrow band: the classes are (almost) certain
    batch = {"static": log_scale.repeat(3, 1), "series": torch.zeros(3, 24, 4)}
    trend, level = implied_class_log_probs(q, batch, 0.2, torch.log1p(torch.tensor([1.0, 10, 50, 200])),
                                           torch.tensor(0.5413))
    assert torch.allclose(trend.exp().sum(-1), torch.ones(3), atol=1e-3)
    assert torch.allclose(level.exp().sum(-1), torch.ones(3), atol=1e-3)
    assert trend.argmax(-1).tolist() == [0, 1, 2]  # down, flat, up
    assert level.argmax(-1).tolist() == [0, 2, 4]  # <1, 10-<50, >=200
