"""MkDocs hook: publish files that live outside docs/ at build time, so the site keeps no copy of them.

The datasheet stays in ``datasets/DATASHEET.md`` (next to the corpus build script) and the
benchmark results in ``benchmarks/results/`` (written by the benchmark scripts). The results keep
their repository paths in the site, so their relative links (a page's horizon PNG) still work.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
RENAMED = {"datasheet.md": "datasets/DATASHEET.md", "benchmarks/index.md": "benchmarks/README.md"}
AS_IS = ("benchmarks/results/*.md", "benchmarks/results/*.png")
# docstrings cross-reference in Sphinx style (:meth:`Forecaster.save`, :class:`~tsfuse.errors.X`);
# mkdocstrings renders the role as text before the code, so the page shows the code alone
SPHINX_ROLE = re.compile(r":(?:meth|func|class|attr|data|mod|exc|obj):<code>~?")


def published_files() -> list[tuple[str, Path]]:
    """(path in the site, file in the repository) of every published file; a missing renamed file raises."""
    out = []
    for site, source in RENAMED.items():
        path = ROOT / source
        if not path.is_file():
            raise FileNotFoundError(f"docs/hooks.py publishes {source} as {site}, but {path} does not exist")
        out.append((site, path))
    for pattern in AS_IS:
        out += [(path.relative_to(ROOT).as_posix(), path) for path in sorted(ROOT.glob(pattern))]
    return out


def on_files(files: Files, config) -> Files:
    """Add the published files to the site's files (MkDocs event)."""
    for site, path in published_files():
        files.append(File.generated(config, site, abs_src_path=str(path)))
    return files


def on_page_content(html: str, page, config, files) -> str:
    """Drop Sphinx cross-reference roles left in rendered docstrings (MkDocs event)."""
    return SPHINX_ROLE.sub("<code>", html)
