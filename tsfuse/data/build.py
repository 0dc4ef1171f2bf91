"""Build the embedded corpora shipped in the package from the raw corpus folders.

Writes ``<out>/<corpus>/v1/{panel.csv.gz, texts.jsonl.gz, meta.csv, MANIFEST.json}`` for
``oss-activity`` and ``opendigger``, read with the package's own readers (tsfuse.data.corpus).
The output is deterministic: rows sorted, floats as ``%.15g`` (exact for these values), gzip
with mtime 0 and no file name, no timestamps or absolute paths in the manifest, so rebuilding from
the same input gives identical bytes. Run it as ``tsfuse data build`` or
``python datasets/build_corpora.py``; see datasets/DATASHEET.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
from pathlib import Path

from tsfuse.data.corpus import (
    CORPUS_NAMES, EMBEDDED_VERSION, MANIFEST_FILE, META_FILE, PANEL_FILE, TEXTS_FILE, Corpus, load_corpus,
    sha256_file,
)
from tsfuse.data.schema import DS, ID, covariate_columns

FLOAT_FORMAT = "%.15g"
LICENCES = {
    "oss-activity": "derived git metadata (commit counts, hashed author ids, tags) and README texts of public "
                    "GitHub repositories; README texts remain under each project's own licence",
    "opendigger": "CC-BY-4.0, OpenDigger (X-lab, https://github.com/X-lab2017/open-digger)",
}


def build(shared: Path, out: Path) -> dict[str, dict]:
    """Build every corpus from ``shared/<corpus>/`` into ``out/<corpus>/v1/``; returns the manifests."""
    return {name: write_corpus(load_corpus(shared / name), out / name / EMBEDDED_VERSION, shared / name)
            for name in CORPUS_NAMES}


def write_corpus(corpus: Corpus, folder: Path, source: Path) -> dict:
    """Write the four files of one embedded corpus; returns its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    panel = corpus.panel.sort_values([ID, DS], kind="stable")
    _write_gzip(folder / PANEL_FILE, _csv(panel))
    lines = (json.dumps({ID: uid, "text": corpus.texts[uid]}, ensure_ascii=False, sort_keys=True) + "\n"
             for uid in sorted(corpus.texts))
    _write_gzip(folder / TEXTS_FILE, "".join(lines).encode("utf-8"))
    (folder / META_FILE).write_bytes(_csv(corpus.meta.sort_values(ID, kind="stable")))
    files = {f: {"sha256": sha256_file(folder / f), "bytes": (folder / f).stat().st_size}
             for f in (PANEL_FILE, TEXTS_FILE, META_FILE)}
    manifest = {
        "corpus": corpus.name,
        "version": EMBEDDED_VERSION,
        "built_by": "tsfuse.data.build (datasets/build_corpora.py, tsfuse data build)",
        "licence": LICENCES[corpus.name],
        "source": {"folder": source.name, "tree_sha256": tree_sha256(source)},
        "counts": {
            "projects": int(panel[ID].nunique()),
            "project_months": len(panel),
            "first_month": f"{panel[DS].min():%Y-%m}",
            "last_month": f"{panel[DS].max():%Y-%m}",
            "readmes_nonempty": sum(bool(t) for t in corpus.texts.values()),
            "quality_flags": {k: len(v) for k, v in corpus.panel.attrs["quality_flags"].items()},
        },
        "columns": {"target": "y", "covariates": covariate_columns(panel)},
        "files": files,
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def tree_sha256(folder: Path) -> str:
    """sha256 over every file under ``folder`` (sorted relative path + content hash): the input's identity."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)}\n".encode("utf-8"))
    return digest.hexdigest()


def _csv(frame) -> bytes:
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, date_format="%Y-%m-%d",
                        lineterminator="\n").encode("utf-8")


def _write_gzip(path: Path, data: bytes) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    path.write_bytes(buf.getvalue())
