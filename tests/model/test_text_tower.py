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
