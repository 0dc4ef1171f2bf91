import numpy as np
import torch

from tests.conftest import TINY_MODEL, TINY_TRAIN
from tsfuse.estimator import Forecaster
from tsfuse.text import TextEncoder


def test_text_tower_is_frozen_and_unchanged_by_training(panel, task, tiny_bert_dir):
    encoder = TextEncoder(tiny_bert_dir)
    before = {k: v.clone() for k, v in encoder.model.state_dict().items()}
    texts = {uid: f"the {uid} project library for data" for uid in panel.unique_id.unique()}
    texts["org/project-0"] = ""  # no README: the learned no-text vector
    model = Forecaster.pretrain(panel, texts, task, preset="light", text_encoder=encoder,
                                model={**TINY_MODEL, "text_model": str(tiny_bert_dir)}, train=TINY_TRAIN)
    after = encoder.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(p.requires_grad for p in encoder.model.parameters())
    assert model.model_config.text_dim == encoder.dim
    counts = model.parameter_counts()
    assert counts["frozen_text_encoder"] == sum(p.numel() for p in encoder.model.parameters()) > 0
    table = model.predict(panel)
    assert np.isfinite(table[["p10", "p50", "p90"]].to_numpy()).all()


def test_readme_changes_the_forecast_only_through_the_text_tower(panel, task, tiny_bert_dir):
    encoder = TextEncoder(tiny_bert_dir)
    texts = {uid: "python data library" for uid in panel.unique_id.unique()}
    model = Forecaster.pretrain(panel, texts, task, preset="light", text_encoder=encoder,
                                model={**TINY_MODEL, "text_model": str(tiny_bert_dir)}, train=TINY_TRAIN)
    with_text = model.predict(panel)
    without = model.predict(panel, texts={uid: "" for uid in texts})
    assert not np.allclose(with_text.p50, without.p50)


def test_text_dropout_hides_the_given_share_of_readmes():
    import pytest

    from tsfuse.config import ModelConfig, TrainConfig
    from tsfuse.train.module import TsfuseModule

    torch.manual_seed(0)
    batch = {"text_present": torch.ones(4000), "text": torch.ones(4000, 3)}
    for share in (0.0, 0.3, 1.0):
        module = TsfuseModule(ModelConfig(text_dim=3, hidden_size=8, fusion_size=8), TrainConfig(text_dropout=share))
        hidden = 1.0 - module.hide_readmes(batch)["text_present"].mean().item()
        assert hidden == pytest.approx(share, abs=0.03)
    assert module.hide_readmes(batch)["text"] is batch["text"]  # the vector stays; only its flag changes
    with pytest.raises(ValueError, match="text_dropout must be a share"):
        TrainConfig(text_dropout=1.5)
