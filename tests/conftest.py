"""Shared fixtures: tiny synthetic panels and tiny random-weight encoders (nothing is ever downloaded)."""

from __future__ import annotations

import os

# torch and LightGBM share one OpenMP runtime; idle OpenMP threads spinning on a busy 2-core
# machine slow every fit many times over. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import logging
import string
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from tsfuse.data.synthetic import generate_panel
from tsfuse.data.tasks import get_task
from transformers import (
    BertConfig,
    BertModel,
    BertTokenizer,
    DistilBertConfig,
    DistilBertModel,
    DistilBertTokenizer,
)

MAX_TOKENS = 16  # tiny max_seq_length, so a few sentences already need several chunks
HIDDEN = 32
WORDS = "the a of and to is in it project library data model for with this python install usage fast simple api web"
VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    *WORDS.split(),
    *string.ascii_lowercase,
    *(f"##{c}" for c in string.ascii_lowercase),
    *string.digits,
    *".,:;!?-()#",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true",
                     help="also run the tests marked slow (real model weights, longer runs); .ci/run does")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (.ci/run does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@dataclass(frozen=True)
class TinySizes:
    hidden: int = HIDDEN
    max_tokens: int = MAX_TOKENS


@pytest.fixture(scope="session")
def tiny_sizes() -> TinySizes:
    """Hidden size and max sequence length of the tiny models."""
    return TinySizes()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's embedding cache out of the home directory."""
    monkeypatch.setenv("TSFUSE_CACHE_DIR", str(tmp_path / "default-cache"))


def _save_tiny(folder: Path, model: torch.nn.Module, tokenizer_cls: type) -> Path:
    folder.mkdir(parents=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    model.save_pretrained(folder)
    tokenizer_cls(vocab=str(vocab_file), model_max_length=MAX_TOKENS).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain Hugging Face BERT folder (no sentence-transformers config)."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_TOKENS,
    )
    return _save_tiny(tmp_path_factory.mktemp("models") / "tiny-bert", BertModel(config), BertTokenizer)


@pytest.fixture(scope="session")
def tiny_distilbert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain Hugging Face DistilBERT folder."""
    torch.manual_seed(1)
    config = DistilBertConfig(
        vocab_size=len(VOCAB), dim=HIDDEN, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=MAX_TOKENS
    )
    folder = tmp_path_factory.mktemp("models") / "tiny-distilbert"
    return _save_tiny(folder, DistilBertModel(config), DistilBertTokenizer)



# Lightning announces devices on every Trainer; keep test output readable.
for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
    logging.getLogger(name).setLevel(logging.ERROR)

TINY_TRAIN = {"max_epochs": 2, "progress_bar": False, "logger": "none", "batch_size": 64}
TINY_MODEL = {"hidden_size": 16, "num_layers": 1, "fusion_size": 16, "text_proj_size": 8, "text_model": None}


@pytest.fixture(scope="session")
def task():
    return get_task("oss-activity")


@pytest.fixture(scope="session")
def panel():
    return generate_panel(10, 48, covariates=("authors", "churn"), seed=1)


@pytest.fixture
def isolated_git(monkeypatch, tmp_path):
    """No user/system git config leaks into a test that runs git."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                "GIT_TRACE2_EVENT"):
        monkeypatch.delenv(var, raising=False)
