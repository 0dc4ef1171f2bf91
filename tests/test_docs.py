"""The documentation site builds offline and strictly (mkdocs.yml), with the included files in it.

.ci/run installs the ``docs`` extra and builds the site too; without that extra (README's
install line), this test is skipped.
"""

import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _missing() -> list[str]:
    """Docs-extra packages that are not installed."""
    missing = [name for name in ("mkdocs", "mkdocstrings", "pymdownx") if importlib.util.find_spec(name) is None]
    if "mkdocstrings" not in missing and importlib.util.find_spec("mkdocstrings_handlers") is None:
        missing.append("mkdocstrings-python")
    return missing


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if _missing():
        pytest.skip(f"docs extra not installed ({', '.join(_missing())} missing): pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def test_site_has_every_nav_page_and_the_api_reference(site):
    for page in ("quickstart", "concepts", "cli", "api", "model-card", "datasheet", "errors", "scaling",
                 "transfer", "benchmarks/results/oss-activity-in-corpus"):
        assert (site / page / "index.html").is_file(), page
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("tsfuse.api.fit", "tsfuse.estimator.Forecaster", "tsfuse.app.report.write_report"):
        assert f'id="{name}"' in api, name


def test_included_files_come_from_their_sources(site):
    assert not (ROOT / "docs" / "datasheet.md").exists()  # published by docs/hooks.py, never copied by hand
    datasheet = (site / "datasheet" / "index.html").read_text(encoding="utf-8")
    first_heading = (ROOT / "datasets" / "DATASHEET.md").read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
    assert first_heading in datasheet
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    install = re.search(r"```bash\n(pip install torch[^\n]*)\n", readme).group(1)
    quickstart = (site / "quickstart" / "index.html").read_text(encoding="utf-8")
    assert html.escape(install) in quickstart and "--8&lt;--" not in quickstart
    results = site / "benchmarks" / "results"
    assert (results / "oss-activity-in-corpus-horizon.png").is_file()


def test_pages_load_nothing_from_the_network(site):
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(https?:)?//", text), page
