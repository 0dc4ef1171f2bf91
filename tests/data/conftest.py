"""Fixtures shared by the data-layer tests."""

import pytest


@pytest.fixture
def isolated_git(monkeypatch, tmp_path):
    """No user/system git config leaks into a test that runs git."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
