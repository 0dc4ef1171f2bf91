"""The layering of pyproject.toml's [tool.importlinter] contracts holds, and the check would catch a break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    command = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", command, "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_imports_only_point_downward_and_no_package_has_a_cycle():
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_the_contract_fails_on_a_planted_upward_import(tmp_path):
    shutil.copytree(ROOT / "tsfuse", tmp_path / "tsfuse",
                    ignore=shutil.ignore_patterns("embedded", "pretrained", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    low = tmp_path / "tsfuse" / "io" / "atomic.py"
    low.write_text(low.read_text() + "\nfrom tsfuse.app import cli  # planted: io must not import app\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert "tsfuse.io.atomic -> tsfuse.app.cli" in done.stdout, done.stdout[-3000:]
