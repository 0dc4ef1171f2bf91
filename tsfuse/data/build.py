"""Build the embedded corpora shipped in the package from the raw corpus folders.

Writes ``<out>/<corpus>/v1/{panel.csv.gz, readme_versions.csv.gz, readme_embeddings.npy, meta.csv,
MANIFEST.json}`` for ``oss-activity`` and ``opendigger``, read with the package's own readers
(tsfuse.data.corpus). No README text is written: each project's README (the repository's current
one, read at its snapshot) ships as its default-encoder embedding (float16, :mod:`tsfuse.data.readme_store`)
with its sha256, and ``meta.csv`` keeps what the quality flags read from it (``readme_hint``).
The output is deterministic: rows sorted, floats as ``%.15g`` (exact for these values), gzip
with mtime 0 and no file name, no timestamps or absolute paths in the manifest, so rebuilding from
the same input on the same machine gives identical bytes (the embeddings may differ in their last
bits on another CPU). Run it as ``tsfuse data build`` or ``python datasets/build_corpora.py``; see
datasets/DATASHEET.md.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

from tsfuse.data.corpus import (
    EMBEDDED_VERSION, MANIFEST_FILE, META_FILE, PANEL_FILE, Corpus, load_corpus, sha256_file,
)
from tsfuse.data.quality import readme_hint
from tsfuse.data.readme_store import embed_versions, head_versions, write_versions
from tsfuse.data.schema import DS, ID, covariate_columns

BUILT_CORPORA = ("oss-activity", "opendigger")  # from ../shared/data (oss-activity-v2: datasets/corpus_v2)
FLOAT_FORMAT = "%.15g"
RESERVED_FILE = "reserved-projects.txt"
LICENCES = {
    "oss-activity": "derived git metadata (monthly commit counts, authors, churn, merges, releases) of public "
                    "GitHub repositories and embeddings of their READMEs (no README text, no source code)",
    "opendigger": "CC-BY-4.0, OpenDigger (X-lab, https://github.com/X-lab2017/open-digger)",
}


def build(shared: Path, out: Path, encoder=None) -> dict[str, dict]:
    """Build every corpus from ``shared/<corpus>/`` into ``out/<corpus>/v1/``; returns the manifests.

    Args:
        shared: the folder with the raw corpora.
        out: where the embedded copies go.
        encoder: the README encoder (default: a :class:`~tsfuse.text.TextEncoder` of the default model).
    """
    if encoder is None:
        from tsfuse.text.encoder import TextEncoder

        encoder = TextEncoder()
    reserved = reserved_projects(shared)
    manifests = {}
    for name in BUILT_CORPORA:
        corpus = load_corpus(shared / name)
        dropped = sorted(p for p in corpus.projects if p.lower() in reserved)
        kept = corpus.restrict(p for p in corpus.projects if p not in dropped)
        manifests[name] = write_corpus(kept, out / name / EMBEDDED_VERSION, shared / name, encoder, dropped)
    return manifests


def reserved_projects(shared: Path) -> set[str]:
    """The projects of ``shared/reserved-projects.txt`` (kept for independent evaluation: never
    shipped or trained on), lower-cased; empty when the file is absent."""
    path = shared / RESERVED_FILE
    if not path.is_file():
        return set()
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line.lower() for line in lines if line and not line.startswith("#")}


def write_corpus(corpus: Corpus, folder: Path, source: Path, encoder, reserved: list[str] = ()) -> dict:
    """Write the files of one embedded corpus; returns its manifest.

    Args:
        corpus: the corpus (README texts, written as ``encoder``'s embeddings).
        folder: where its files go.
        source: the raw folder it was read from (its identity goes into the manifest).
        encoder: the README encoder.
        reserved: the source's projects left out as reserved (named in the manifest).
    """
    folder.mkdir(parents=True, exist_ok=True)
    panel = corpus.panel.sort_values([ID, DS], kind="stable")
    _write_gzip(folder / PANEL_FILE, _csv(panel))
    versions = embed_versions(head_versions(corpus.texts), encoder)
    version_files = write_versions(folder, versions)
    meta = corpus.meta.assign(readme_hint=[readme_hint(corpus.texts[u]) for u in corpus.meta[ID]], readme_as_of="head")
    (folder / META_FILE).write_bytes(_csv(meta.sort_values(ID, kind="stable")))
    files = {f: {"sha256": sha256_file(folder / f), "bytes": (folder / f).stat().st_size}
             for f in (PANEL_FILE, *version_files, META_FILE)}
    manifest = {
        "corpus": corpus.name,
        "version": EMBEDDED_VERSION,
        "built_by": "tsfuse.data.build (datasets/build_corpora.py, tsfuse data build)",
        "licence": LICENCES[corpus.name],
        "source": {"folder": source.name, "tree_sha256": tree_sha256(source)},
        "left_out_reserved": list(reserved),
        "counts": {
            "projects": int(panel[ID].nunique()),
            "project_months": len(panel),
            "first_month": f"{panel[DS].min():%Y-%m}",
            "last_month": f"{panel[DS].max():%Y-%m}",
            "readmes_nonempty": int(versions["present"].sum()),
            "quality_flags": {k: len(v) for k, v in corpus.panel.attrs["quality_flags"].items()},
        },
        "columns": {"target": "y", "covariates": covariate_columns(panel)},
        "readme": {"as_of": "head (the repository's README at its snapshot, for every month)",
                   "text_model": encoder.name, "dim": int(encoder.dim), "dtype": "float16"},
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
