"""The heads own their losses; state dicts saved before the heads held their buffers still load."""

import math

import pytest
import torch

from tsfuse.config import ModelConfig, TrainConfig
from tsfuse.nn.heads import ClassHead, QuantileHead, pinball_loss
from tsfuse.train.module import LEGACY_KEYS, TsfuseModule


def test_pinball_loss_on_a_known_example():
    head = QuantileHead(4, horizon=2, quantiles=(0.1, 0.5, 0.9))
    pred = torch.tensor([[[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]])  # [1, 2, 3]
    batch = {"target": torch.tensor([[3.0, -1.0]]), "target_mask": torch.tensor([[1.0, 0.0]])}
    # month 1 (target 3): 0.1*3 + 0.5*2 + 0.9*1 = 2.2, over 3 quantiles; month 2 is masked out
    assert head.loss(pred, batch).item() == pytest.approx(2.2 / 3)
    all_months = dict(batch, target_mask=torch.ones(1, 2))
    # month 2 (target -1, below every quantile): 0.9*1 + 0.5*1 + 0.1*1 = 1.5
    assert head.loss(pred, all_months).item() == pytest.approx((2.2 + 1.5) / 6)
    assert torch.equal(head.quantiles, torch.tensor([0.1, 0.5, 0.9]))
    assert pinball_loss(pred, batch["target"], torch.zeros(1, 2), head.quantiles).item() == 0.0


def test_class_head_loss_uses_its_weights_and_ignores_missing_labels():
    head = ClassHead(2, 3, "trend")
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    batch = {"trend": torch.tensor([0, -1])}
    expected = -math.log(math.exp(2) / (math.exp(2) + 2))
    assert head.loss(logits, batch).item() == pytest.approx(expected)
    head.class_weights.copy_(torch.tensor([3.0, 1.0, 1.0]))
    assert head.loss(logits, batch).item() == pytest.approx(expected)  # a weighted mean over one label
    assert head.loss(logits, batch, label_smoothing=0.3).item() > expected
    assert head.loss(logits, {"trend": torch.tensor([-1, -1])}).item() == 0.0  # no labels: 0, not NaN
    assert torch.equal(head.weight, torch.zeros(3, 2)) and torch.equal(head.bias, torch.zeros(3))


def test_module_loads_a_state_dict_with_the_old_module_level_buffers():
    cfg = ModelConfig(hidden_size=8, fusion_size=8, text_model=None, quantiles=(0.1, 0.5, 0.9))
    module = TsfuseModule(cfg, TrainConfig())
    state = module.state_dict()
    assert set(LEGACY_KEYS.values()) <= set(state) and not set(LEGACY_KEYS) & set(state)
    old = {k: v for k, v in state.items() if k not in LEGACY_KEYS.values()}
    old |= {"quantiles": torch.tensor([0.1, 0.5, 0.9]), "trend_weights": torch.tensor([1.0, 2.0, 3.0]),
            "level_weights": torch.arange(5.0)}
    fresh = TsfuseModule(cfg, TrainConfig())
    fresh.load_state_dict(old)  # strict: every old key has its new place
    assert torch.equal(fresh.net.class_weights("trend"), torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(fresh.net.class_weights("level"), torch.arange(5.0))
    assert "quantiles" in old  # the caller's dict is not changed


def test_value_loss_on_the_mase_scale_weighs_misses_in_counts_per_window_scale():
    import numpy as np

    head = QuantileHead(4, horizon=1, quantiles=(0.1, 0.5, 0.9))
    log_scale = torch.log1p(torch.tensor([9.0, 999.0]))
    truth = torch.tensor([[10.0], [1100.0]])
    pred = (torch.log1p(torch.tensor([[[8.0, 9.0, 12.0]], [[900.0, 1000.0, 1200.0]]])) - log_scale[:, None, None])
    batch = {"target": torch.log1p(truth) - log_scale[:, None], "target_mask": torch.ones(2, 1),
             "log_scale": log_scale, "mase_scale": torch.tensor([1.0, 100.0])}
    q = np.array([0.1, 0.5, 0.9])
    expected = np.mean([np.maximum(q * d, (q - 1) * d).mean() for d in (
        (10 - np.array([8.0, 9.0, 12.0])) / 1.0, (1100 - np.array([900.0, 1000.0, 1200.0])) / 100.0)])
    assert head.loss(pred, batch, mase_weight=1.0).item() == pytest.approx(expected, rel=1e-4)
    mixed = head.loss(pred, batch, mase_weight=0.5).item()
    assert mixed == pytest.approx(0.5 * head.loss(pred, batch).item() + 0.5 * expected, rel=1e-4)


@pytest.mark.parametrize("shapes", [True, False])
def test_class_losses_reach_the_value_head_only_when_configured(shapes):
    from tsfuse.data.features import FeatureSpec
    from tsfuse.nn.net import TwoTowerNet

    torch.manual_seed(0)
    config = ModelConfig(hidden_size=8, fusion_size=8, text_model=None, class_loss_shapes_values=shapes)
    net = TwoTowerNet(config)
    spec, n, length = FeatureSpec.for_covariates(()), 4, 24
    batch = {"values": torch.randn(n, length), "covariates": torch.zeros(n, length, 0), "mask": torch.ones(n, length),
             "calendar": torch.zeros(n, length, 2), "log_scale": torch.ones(n), "age": torch.ones(n),
             "cov_scale": torch.zeros(n, 0), "cov_present": torch.zeros(n, 0), "trend": torch.tensor([0, 1, 2, 0])}
    assert spec.series_channels == 4
    out = net(batch)
    net.heads["trend"].loss(out["trend"], batch).backward()
    grad = net.heads["value"].linear.weight.grad
    assert (grad is not None and grad.abs().sum() > 0) == shapes


def test_a_class_trunk_keeps_the_value_and_class_losses_apart():
    from tsfuse.nn.net import TwoTowerNet

    torch.manual_seed(0)
    config = ModelConfig(hidden_size=8, fusion_size=8, text_model=None, class_loss_shapes_values=False,
                         class_trunk=True)
    net = TwoTowerNet(config)
    with torch.no_grad():  # class heads start at zero (the implied classes): no gradient would reach their input
        net.heads["trend"].weight.normal_()
    n, length = 4, 24
    batch = {"values": torch.randn(n, length), "covariates": torch.zeros(n, length, 0), "mask": torch.ones(n, length),
             "calendar": torch.zeros(n, length, 2), "log_scale": torch.ones(n), "age": torch.ones(n),
             "cov_scale": torch.zeros(n, 0), "cov_present": torch.zeros(n, 0), "trend": torch.tensor([0, 1, 2, 0]),
             "target": torch.randn(n, 6), "target_mask": torch.ones(n, 6)}

    def reached(loss) -> dict[str, bool]:
        net.zero_grad(set_to_none=True)
        loss.backward()
        return {name: any(p.grad is not None and p.grad.abs().sum() > 0 for p in getattr(net, name).parameters())
                for name in ("temporal", "fusion", "class_temporal", "class_fusion")}

    out = net(batch)
    assert reached(net.heads["value"].loss(out["quantiles"], batch)) == {
        "temporal": True, "fusion": True, "class_temporal": False, "class_fusion": False}
    out = net(batch)
    assert reached(net.heads["trend"].loss(out["trend"], batch)) == {
        "temporal": False, "fusion": False, "class_temporal": True, "class_fusion": True}
    trained = {id(p) for p in net.part("temporal").parameters()}  # freezing and the optimiser see both towers
    assert {id(p) for p in net.class_temporal.parameters()} <= trained
    net.freeze("temporal")
    assert not any(p.requires_grad for p in net.class_temporal.parameters())
