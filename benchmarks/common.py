"""Shared pieces of the benchmark scripts: corpus loading, the cross-project split, quick subsets,
and the record of versions / machine / command that makes a result reproducible."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import platform
import random
import shlex
import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

from tsfuse.data.build import RESERVED_FILE, reserved_projects  # noqa: E402
from tsfuse.data.corpus import CORPUS_NAMES, Corpus, load_corpus  # noqa: E402
from tsfuse.data.schema import DS, ID, PanelError, validate_panel  # noqa: E402
from tsfuse.data.tasks import TaskSpec, get_task  # noqa: E402
from tsfuse.data.windows import make_windows  # noqa: E402

log = logging.getLogger("benchmarks")
SPLITS_DIR = REPO / "benchmarks" / "splits"
RESULTS_DIR = REPO / "benchmarks" / "results"  # the published pages
RAW_DATA_DIR = REPO.parent / "shared" / "data"  # the raw corpora beside the checkout (read-only)
SPLIT_EVERY = 5  # cross-project: every 5th project (sha256 order) is an evaluation project
PACKAGES = ("tsfuse", "torch", "lightning", "pandas", "numpy", "scikit-learn", "statsforecast", "lightgbm",
            "pytorch-forecasting", "sentence-transformers")


class BenchmarkError(RuntimeError):
    """A benchmark cannot run as asked (e.g. a training project is also an evaluation project)."""


# ----------------------------------------------------------------------------- corpora
def load_named_corpus(name_or_path: str) -> Corpus:
    """``load_corpus`` of a corpus name or raw folder; for a name whose embedded copy is not built
    yet, the raw folder ``../shared/data/<name>`` is read instead (same readers, same panel)."""
    try:
        return without_reserved(load_corpus(name_or_path))
    except PanelError as error:
        raw = RAW_DATA_DIR / str(name_or_path)
        if str(name_or_path) in CORPUS_NAMES and raw.is_dir():
            log.warning("embedded corpus %s not available (%s); reading the raw folder %s", name_or_path, error, raw)
            return without_reserved(load_corpus(raw))
        raise


def without_reserved(corpus: Corpus, raw_dir: Path = RAW_DATA_DIR) -> Corpus:
    """``corpus`` without the projects of ``raw_dir/reserved-projects.txt`` (kept for independent
    evaluation: never trained on or scored here), with a warning naming them."""
    reserved = reserved_projects(raw_dir)
    hit = [p for p in corpus.projects if p.lower() in reserved]
    if not hit:
        return corpus
    log.warning("leaving out %d reserved project(s) of %s: %s (listed in %s)", len(hit),
                corpus.panel.attrs.get("source", corpus.name), hit[:10], Path(raw_dir) / RESERVED_FILE)
    return corpus.restrict(p for p in corpus.projects if p not in hit)


def is_bulk_build(folder: str | Path) -> bool:
    """Whether ``folder`` is an output folder of ``tsfuse data build --repos`` (its manifest and panels)."""
    return (Path(folder) / "manifest.csv").is_file() and (Path(folder) / "panel").is_dir()


def corpus_from_build(folder: str | Path) -> Corpus:
    """The projects a bulk build finished, as a git-history corpus; README texts are the versions
    per quarter when the build recorded them (each window then reads the one known before its origin)."""
    from tsfuse.data.sources.bulk import load_built, load_readme_versions

    panel, head_texts = load_built(folder)
    versions = load_readme_versions(folder)
    return without_reserved(_git_corpus(panel, versions if len(versions) else head_texts, str(folder)))


def _git_corpus(panel: pd.DataFrame, texts, source: str) -> Corpus:
    """A git-history corpus (the oss-activity task) of ``panel`` and its README texts or versions."""
    panel = validate_panel(panel)
    panel.attrs.update(corpus="oss-activity", source=source)
    meta = pd.DataFrame({ID: sorted(panel[ID].unique())})
    return Corpus("oss-activity", panel, texts, meta, get_task("oss-activity"))


def corpus_from_repos(list_file: str | Path) -> Corpus:
    """One local git repository (or bare snapshot) per line of ``list_file``, read with tsfuse's data
    layer: each series ends at its snapshot's last complete month, and README texts are the versions
    per quarter (BENCHMARK.md v2: a window reads the README committed before its origin)."""
    from tsfuse.data.sources.git import from_git

    base = Path(list_file).parent
    paths = [base / line.strip() for line in Path(list_file).read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not paths:
        raise BenchmarkError(f"{list_file} lists no repository (one path a line)")
    panels, versions = [], []
    for path in paths:
        panel, history = from_git(path, readme_history=True)
        panels.append(panel)
        versions.append(history.assign(unique_id=panel[ID].iloc[0]))
    names = [p[ID].iloc[0] for p in panels]
    if len(set(names)) != len(names):
        raise BenchmarkError(f"{list_file}: two repositories have the same owner/name "
                             f"{sorted({n for n in names if names.count(n) > 1})}")
    corpus = _git_corpus(pd.concat(panels, ignore_index=True), pd.concat(versions, ignore_index=True), str(list_file))
    return without_reserved(corpus)


def check_disjoint(train_ids, eval_ids, what: str = "training and evaluation") -> None:
    """Refuse a cross-project run where a project is both trained on and scored."""
    both = sorted(set(map(str, train_ids)) & set(map(str, eval_ids)))
    if both:
        raise BenchmarkError(
            f"refusing to run: {len(both)} project(s) are in both the {what} sets, e.g. {both[:5]}. "
            "Cross-project evaluation scores projects the model never trained on; remove them from one folder.")


# ------------------------------------------------------------------------------ splits
def sha_order(ids) -> list[str]:
    """Project ids sorted by the sha256 hex digest of the UTF-8 id (a fixed, content-free shuffle)."""
    return sorted(map(str, ids), key=lambda uid: hashlib.sha256(uid.encode("utf-8")).hexdigest())


def nested_sample(ids, fraction: float) -> list[str]:
    """The first ``ceil(fraction x n)`` of ``ids`` (at least one) in :func:`sha_order`: samples of one set of
    projects are nested (a smaller fraction keeps a subset of a larger one's projects)."""
    ordered = sha_order(ids)
    return ordered[:max(1, math.ceil(fraction * len(ordered)))]


def listed_projects(ids, path: str | Path) -> tuple[list[str], str]:
    """The projects of ``ids`` listed in ``path`` (one unique_id a line, ``#`` comments), with a sentence
    saying how many listed ones were left out (not among ``ids``: evaluation projects or not in the
    corpus). Raises when none is kept."""
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"--train-projects {path}: no such file (one unique_id per line)")
    listed = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    listed = list(dict.fromkeys(u for u in listed if u))
    have = {str(u) for u in ids}
    kept = sorted(u for u in listed if u in have)
    if not kept:
        raise BenchmarkError(f"--train-projects {path}: none of its {len(listed)} projects is a training project "
                             f"of this run (e.g. {listed[:3]}); list unique_ids as owner/name")
    return kept, (f"the {len(kept)} training projects listed in {path.name} ({len(listed) - len(kept)} listed ones "
                  "are not training projects of this split: evaluation projects or not in the corpus)")


def make_split(ids, every: int = SPLIT_EVERY) -> dict:
    """The fixed cross-project split: projects in sha256 order, positions every-1, 2*every-1, ... go to eval."""
    order = sha_order(ids)
    eval_ids = [uid for i, uid in enumerate(order) if i % every == every - 1]
    train_ids = [uid for i, uid in enumerate(order) if i % every != every - 1]
    return {"rule": f"projects sorted by sha256(unique_id as UTF-8) hex digest; positions i with i % {every} == "
                    f"{every - 1} (every {every}th, 0-based) are evaluation projects, the rest training projects",
            "n_projects": len(order), "train": sorted(train_ids), "eval": sorted(eval_ids)}


def hash_split(ids, every: int = SPLIT_EVERY) -> dict:
    """The cross-project split of a corpus that grows (``oss-activity-v2``): a project is an evaluation
    project iff int(sha256(unique_id), 16) % every == 0, so its side never depends on the other projects
    and adding projects never moves one between training and evaluation."""
    ids = sorted(map(str, ids))
    is_eval = {uid: int(hashlib.sha256(uid.encode("utf-8")).hexdigest(), 16) % every == 0 for uid in ids}
    return {"rule": f"a project is an evaluation project iff int(sha256(unique_id as UTF-8), 16) % {every} == 0, "
                    "the rest training projects (per project: the split of a growing corpus never moves a project)",
            "n_projects": len(ids), "train": [u for u in ids if not is_eval[u]], "eval": [u for u in ids if is_eval[u]]}


GROWING_CORPORA = ("oss-activity-v2",)  # built over several sessions: split by hash_split


def load_split(corpus: Corpus, splits_dir: Path = SPLITS_DIR, name: str | None = None) -> tuple[dict, Path]:
    """The committed split ``benchmarks/splits/<name or corpus>.json`` (written on first use); it must cover
    exactly the corpus's projects. A growing corpus's file is rewritten by its per-project rule
    (:func:`hash_split`) when the corpus has grown."""
    path = Path(splits_dir) / f"{name or corpus.name}.json"
    ids = sorted(corpus.panel[ID].unique())
    if corpus.name in GROWING_CORPORA:
        split = {"corpus": corpus.name, **hash_split(ids)}
        if not path.is_file() or json.loads(path.read_text(encoding="utf-8")) != split:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")
            log.warning("wrote the cross-project split %s for %d projects (%d train / %d eval; per-project rule)",
                        path, len(ids), len(split["train"]), len(split["eval"]))
    if not path.is_file():
        split = {"corpus": corpus.name, **make_split(ids)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")
        log.warning("wrote the cross-project split %s (%d train / %d eval projects)", path,
                    len(split["train"]), len(split["eval"]))
    split = json.loads(path.read_text(encoding="utf-8"))
    listed = set(split["train"]) | set(split["eval"])
    check_disjoint(split["train"], split["eval"], f"train and eval lists of {path}")
    if listed != set(ids):
        raise BenchmarkError(f"{path} lists {len(listed)} projects but the corpus has {len(ids)} "
                             f"(e.g. not listed: {sorted(set(ids) - listed)[:3]}, not in the corpus: "
                             f"{sorted(listed - set(ids))[:3]}): the corpus changed since the split was written; a new corpus "
                             "version needs a new split file (same rule: delete this one to rebuild it)")
    return split, path


def eligible_projects(corpus: Corpus, origin: pd.Timestamp, min_before: int | None = None) -> list[str]:
    """Projects (sha256 order) with a scored window at ``origin`` and ``min_before`` months before it."""
    task = corpus.task
    windows = make_windows(corpus.panel, task, [origin])
    first = corpus.panel.groupby(ID)[DS].min()
    need = task.min_history if min_before is None else min_before
    months_before = {uid: (origin.year - d.year) * 12 + origin.month - d.month for uid, d in first.items()}
    return [uid for uid in sha_order(set(windows.unique_id)) if months_before[uid] >= need]


# ------------------------------------------------------------------------ reproducibility
def seed_everything(seed: int) -> None:
    """Fix the Python, NumPy and torch generators (methods also get ``seed`` explicitly)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def quiet_logs() -> None:
    """Keep Lightning's per-Trainer device banners and routine warnings out of the output."""
    for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for pattern in (".*does not have many workers.*", ".*Checkpoint directory.*", ".*GPU available.*",
                    ".*TPU available.*", ".*number of training batches.*", ".*LightningDeprecationWarning.*"):
        warnings.filterwarnings("ignore", message=pattern)


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["python"] = platform.python_version()
    return out


def machine() -> dict:
    import torch

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cuda": bool(torch.cuda.is_available())}


def git_state(*exclude: Path) -> dict:
    """Commit of the checkout and whether it had uncommitted changes (best effort).

    Args:
        exclude: paths inside the checkout whose own changes do not count (the pages being rewritten).
    """
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip()
        paths = ["--", ".", *(f":(exclude){p.resolve().relative_to(REPO)}" for p in exclude)] if exclude else []
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", *paths], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return {"commit": commit or None, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def command_line(script: str, argv: list[str]) -> str:
    return "python " + shlex.join([script, *argv])


def month(ts) -> str:
    return f"{pd.Timestamp(ts):%Y-%m}"


def task_origins(task: TaskSpec, chosen: list[str] | None, quick: bool) -> list[pd.Timestamp]:
    """The task's origins; ``chosen`` (YYYY-MM) must be among them; ``quick`` keeps the first one."""
    all_origins = task.origin_timestamps()
    if chosen:
        bad = [o for o in chosen if pd.Timestamp(f"{o}-01") not in all_origins]
        if bad:
            raise BenchmarkError(f"origin(s) {bad} are not origins of {task.name}; choose from {list(task.origins)}")
        return [pd.Timestamp(f"{o}-01") for o in chosen]
    return all_origins[:1] if quick else all_origins
