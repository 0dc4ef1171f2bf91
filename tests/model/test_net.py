import pytest
import torch

from tsfuse.config import ModelConfig
from tsfuse.data.features import FeatureSpec
from tsfuse.nn import PARTS, TwoTowerNet


def _batch(cfg: ModelConfig, b: int = 5) -> dict[str, torch.Tensor]:
    """Random named inputs (see tsfuse.data.features.build_inputs); window 0 is padded on the left."""
    c, length = len(cfg.covariates), cfg.context_length
    mask = torch.ones(b, length)
    mask[0, :10] = 0.0
    return {"values": torch.randn(b, length) * mask, "covariates": torch.randn(b, length, c) * mask[..., None],
            "mask": mask, "calendar": torch.randn(b, length, 2), "log_scale": torch.rand(b) * 3,
            "age": torch.rand(b), "cov_scale": torch.randn(b, c), "cov_present": torch.ones(b, c),
            "text": torch.randn(b, cfg.text_dim), "text_present": torch.tensor([1.0, 0, 1, 0, 1])[:b],
            "target": torch.randn(b, cfg.horizon), "target_mask": torch.ones(b, cfg.horizon),
            "trend": torch.tensor([0, 1, 2, -1, 1])[:b], "level": torch.tensor([4, 0, 2, 1, -1])[:b]}


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


def test_series_input_joins_the_channels_in_the_saved_order():
    cfg = ModelConfig(covariates=("a", "b"), hidden_size=8, fusion_size=8, text_model=None)
    net, batch = TwoTowerNet(cfg), _batch(cfg)
    series = net.series_input(batch)
    assert series.shape == (5, cfg.context_length, FeatureSpec.for_covariates(("a", "b")).series_channels) == (5, 24, 6)
    assert torch.equal(series[..., 0], batch["values"]) and torch.equal(series[..., 1:3], batch["covariates"])
    assert torch.equal(series[..., 3], batch["mask"]) and torch.equal(series[..., 4:], batch["calendar"])
    static = net.spec.static(batch)
    assert torch.equal(static[:, 0], batch["log_scale"]) and torch.equal(static[:, 1], batch["age"])
    assert torch.equal(static[:, 2:4], batch["cov_scale"]) and torch.equal(static[:, 4:], batch["cov_present"])


def test_the_network_reads_channels_by_name_not_by_position():
    cfg = ModelConfig(hidden_size=8, fusion_size=8, text_model=None, temporal="transformer", num_heads=2)
    net = TwoTowerNet(cfg).eval()
    batch = _batch(cfg)
    # Without covariates, the named arrays may come in any key order and with extra keys:
    # nothing is found by its place in a tensor or in the dict.
    shuffled = {k: batch[k] for k in reversed(list(batch))} | {"series": torch.randn(5, 24, 4)}
    assert torch.equal(net(batch)["quantiles"], net(shuffled)["quantiles"])
    # The transformer's padding mask is batch["mask"]: the values of padded months do not matter.
    padded = dict(batch, values=batch["values"].clone(), covariates=batch["covariates"].clone())
    padded["values"][0, :10] = 50.0
    calendar = batch["calendar"].clone()
    calendar[0, :10] = -7.0
    padded["calendar"] = calendar
    assert not torch.equal(net.series_input(padded), net.series_input(batch))
    assert torch.allclose(net(padded)["quantiles"][0], net(batch)["quantiles"][0], atol=1e-5)


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


def test_freeze_and_unfreeze_parts():
    net = TwoTowerNet(ModelConfig(hidden_size=8, fusion_size=8))
    net.freeze("temporal")
    assert not any(p.requires_grad for p in net.temporal.parameters())
    assert all(p.requires_grad for p in net.heads.parameters())
    net.freeze()
    assert not any(p.requires_grad for p in net.parameters())
    net.unfreeze("heads", "fusion")
    assert all(p.requires_grad for p in [*net.heads.parameters(), *net.fusion.parameters()])
    assert not any(p.requires_grad for p in net.temporal.parameters())
    net.unfreeze()
    assert all(p.requires_grad for p in net.parameters())
    with pytest.raises(ValueError, match="unknown part 'encoder'"):
        net.freeze("temporal", "encoder")
    assert all(p.requires_grad for p in net.temporal.parameters())  # nothing changed
    assert PARTS == ("temporal", "text", "fusion", "heads")


def test_class_weights_live_in_the_heads_and_reset_heads_restores_the_start():
    torch.manual_seed(0)
    net = TwoTowerNet(ModelConfig(hidden_size=8, fusion_size=8, text_model=None))
    start = {k: v.clone() for k, v in net.heads.state_dict().items()}
    net.set_class_weights("trend", torch.tensor([2.0, 0.5, 1.0]))
    assert torch.equal(net.class_weights("trend"), torch.tensor([2.0, 0.5, 1.0]))
    assert torch.equal(net.class_weights("level"), torch.ones(5))
    with pytest.raises(ValueError, match="unknown class head 'value'"):
        net.class_weights("value")
    with torch.no_grad():
        for p in net.heads.parameters():
            p.add_(1.0)
    net.reset_heads()
    state = net.heads.state_dict()
    assert torch.equal(state["trend.weight"], torch.zeros(3, 10)) and torch.equal(state["level.bias"], torch.zeros(5))
    assert torch.equal(state["implied.spread_scale"], start["implied.spread_scale"])
    assert not torch.equal(state["value.linear.weight"], start["value.linear.weight"] + 1)  # re-drawn
    assert torch.equal(state["trend.class_weights"], torch.tensor([2.0, 0.5, 1.0]))  # data statistics are kept


def test_losses_are_the_heads_losses_weighted():
    cfg = ModelConfig(hidden_size=8, fusion_size=8, text_model=None)
    net, batch = TwoTowerNet(cfg).eval(), _batch(cfg)
    parts = net.losses(batch, label_smoothing=0.1, loss_weights=(1.0, 0.3, 0.5))
    out = net(batch)
    assert torch.equal(parts["value"], net.heads["value"].loss(out["quantiles"], batch))
    assert torch.equal(parts["trend"], net.heads["trend"].loss(out["trend"], batch, 0.1))
    assert torch.allclose(parts["loss"], parts["value"] + 0.3 * parts["trend"] + 0.5 * parts["level"])


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="context_length"):
        ModelConfig(context_length=6)
    with pytest.raises(ValueError, match="unknown ModelConfig"):
        ModelConfig.from_dict({"hidden": 3})


def test_implied_class_probabilities_follow_the_benchmark_rules():
    from tsfuse.nn.heads import implied_class_log_probs

    # log_scale = log1p(20); history flat at 20/month; forecasts: collapse, same, surge
    log_scale = torch.log1p(torch.tensor(20.0))
    medians = torch.log1p(torch.tensor([0.5, 20.0, 300.0])) - log_scale
    q = medians.view(3, 1, 1).expand(3, 6, 3).clone()
    q[..., 0] -= 0.01
    q[..., 2] += 0.01  # a very narrow band: the classes are (almost) certain
    batch = {"log_scale": log_scale.repeat(3), "values": torch.zeros(3, 24)}
    trend, level = implied_class_log_probs(q, batch, 0.2, torch.log1p(torch.tensor([1.0, 10, 50, 200])),
                                           torch.tensor(0.5413))
    assert torch.allclose(trend.exp().sum(-1), torch.ones(3), atol=1e-3)
    assert torch.allclose(level.exp().sum(-1), torch.ones(3), atol=1e-3)
    assert trend.argmax(-1).tolist() == [0, 1, 2]  # down, flat, up
    assert level.argmax(-1).tolist() == [0, 2, 4]  # <1, 10-<50, >=200


def test_history_features_reach_the_fusion_only_when_configured():
    from tsfuse.data.features import HISTORY_FEATURES

    torch.manual_seed(0)
    for history in (False, True):
        cfg = ModelConfig(hidden_size=8, fusion_size=8, text_model=None, history_features=history)
        net, batch = TwoTowerNet(cfg).eval(), _batch(cfg)
        a = net(dict(batch, history=torch.zeros(5, len(HISTORY_FEATURES))))["quantiles"]
        b = net(dict(batch, history=torch.ones(5, len(HISTORY_FEATURES))))["quantiles"]
        assert torch.equal(a, b) != history


def test_the_text_gate_follows_the_history_length_and_is_off_by_default():
    torch.manual_seed(0)
    cfg = ModelConfig(text_dim=12, text_proj_size=4, hidden_size=8, fusion_size=8, text_gate=True)
    net = TwoTowerNet(cfg).eval()
    text, present = torch.randn(3, 12), torch.ones(3)
    with torch.no_grad():
        net.text.gate.weight.fill_(-10.0)  # the gate closes as the history grows
        young, old = net.text(text, present, torch.zeros(3)), net.text(text, present, torch.ones(3))
    assert torch.allclose(old, net.text.no_text.expand(3, -1), atol=1e-3)  # long history: README ignored
    assert not torch.allclose(young, old)
    assert TwoTowerNet(ModelConfig(text_dim=12, text_proj_size=4, hidden_size=8, fusion_size=8)).text.gate is None
