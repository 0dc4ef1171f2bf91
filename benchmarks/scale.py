"""Scale benchmark: corpus building (repositories/min) and training (windows/s) at 1 and 2 workers.

    python benchmarks/scale.py [--repos 40] [--readmes 96] [--train-series 300] [--seed 0] [--quick]
        [--out benchmarks/results]

1. Makes ``--repos`` synthetic git repositories with ``git fast-import`` (commit counts log-uniform
   in [--min-commits, --max-commits], 1-3 files changed per commit, a few authors and tags, a real
   README of the embedded oss-activity corpus each; no merges), in a temporary folder.
2. Builds their panels with ``tsfuse.data.sources.bulk.build_bulk``: in this process (engine local, 1 worker:
   the per-repository cost, fitted as ``a + b * commits``), then on dask with 1 and 2 worker
   processes, each *cold* (the engine starts its own cluster: worker start and imports included)
   and *warm* (a started cluster whose workers already imported tsfuse, given by address).
3. Encodes ``--readmes`` real READMEs of the oss-activity corpus with the default text encoder,
   cache empty, in batches of 32: seconds per README.
4. Trains the balanced preset (LSTM, no text tower) on a synthetic panel of ``--train-series``
   series in a fresh subprocess per setting: 1 process, and 2 DDP processes on CPU (gloo). Each
   setting runs 1 and 3 epochs; windows/s = windows x 2 / (t(3 epochs) - t(1 epoch)), so process
   start, data preparation and DDP set-up cancel out.

Writes ``<out>/scale.md`` and ``scale.json`` (command, machine, versions, load average). The machine's
cores are shared with whatever else runs on it: the load average before and after is recorded.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see run.py

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RAW_DATA_DIR, REPO, RESULTS_DIR, command_line, git_state, machine, quiet_logs, versions  # noqa: E402

SNAPSHOT = "2024-01-01T00:00:00Z"
FIRST_COMMIT = pd.Timestamp("2016-01-01", tz="UTC").timestamp()
LAST_COMMIT = pd.Timestamp("2023-12-31", tz="UTC").timestamp()
EMBED_BATCH = 32
EPOCHS = (1, 3)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repos", type=int, default=40)
    p.add_argument("--min-commits", type=int, default=200)
    p.add_argument("--max-commits", type=int, default=8000)
    p.add_argument("--readmes", type=int, default=96, help="READMEs to embed")
    p.add_argument("--train-series", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="8 small repositories, 16 READMEs, 60 series")
    p.add_argument("--out", default=str(RESULTS_DIR))
    p.add_argument("--train-worker", type=int, metavar="DEVICES", help=argparse.SUPPRESS)
    p.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.repos, args.min_commits, args.max_commits, args.readmes, args.train_series = 8, 100, 800, 16, 60
    return args


# ------------------------------------------------------------------------------ synthetic repositories
def make_repo(path: Path, commits: int, readme: str, rng: np.random.Generator) -> None:
    """A repository of ``commits`` commits on main, written with one ``git fast-import`` call."""
    times = np.sort(rng.uniform(FIRST_COMMIT, LAST_COMMIT, commits)).astype(np.int64)
    authors = [f"dev{i} <dev{i}@example.com>" for i in range(max(2, int(np.sqrt(commits))))]
    chunks = []

    def data(payload: bytes) -> None:
        chunks.append(b"data %d\n" % len(payload) + payload + b"\n")

    for i, when in enumerate(times):
        who = authors[int(rng.zipf(1.5)) % len(authors)]
        chunks.append(f"commit refs/heads/main\nmark :{i + 1}\nauthor {who} {when} +0000\n"
                      f"committer {who} {when} +0000\n".encode())
        data(f"change {i}".encode())
        if i:
            chunks.append(f"from :{i}\n".encode())
        else:
            chunks.append(b"M 100644 inline README.md\n")
            data(readme.encode("utf-8"))
        for f in rng.choice(30, size=int(rng.integers(1, 4)), replace=False):
            chunks.append(f"M 100644 inline src/f{f}.txt\n".encode())
            data("\n".join(map(str, rng.integers(0, 50, int(rng.integers(5, 40))))).encode() + b"\n")
        if i % 200 == 199:
            chunks.append(f"reset refs/tags/v{i // 200}\nfrom :{i + 1}\n\n".encode())
    path.mkdir(parents=True)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(chunks), check=True, env=env)


def make_repos(folder: Path, args, readmes: list[str]) -> dict[str, int]:
    """``args.repos`` repositories under ``folder``; returns path -> commits."""
    rng = np.random.default_rng(args.seed)
    counts = np.exp(rng.uniform(np.log(args.min_commits), np.log(args.max_commits), args.repos)).astype(int)
    repos = {}
    for i, n in enumerate(counts):
        path = folder / f"org{i % 5}" / f"repo{i:03d}"
        make_repo(path, int(n), readmes[i % len(readmes)], rng)
        repos[str(path)] = int(n)
    return repos


# ------------------------------------------------------------------------------------------- builds
def timed_build(listing: Path, out: Path, **kwargs) -> dict:
    from tsfuse.data.sources.bulk import build_bulk

    start = time.perf_counter()
    summary = build_bulk(listing, out, snapshot=SNAPSHOT, progress=False, **kwargs)
    wall = time.perf_counter() - start
    if summary.failed:
        raise RuntimeError(f"{summary.failed} synthetic repositories failed to build; see {out / 'failures.csv'}")
    manifest = pd.read_csv(out / "manifest.csv")
    return {"repos": summary.built, "wall_s": round(wall, 2), "repos_per_min": round(summary.built / wall * 60, 1),
            "task_s_sum": round(float(manifest["seconds"].sum()), 2)}


def warm_dask_build(listing: Path, out: Path, workers: int) -> dict:
    """A build on a started LocalCluster whose workers already imported tsfuse (steady state)."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(importlib.import_module, "tsfuse.data.sources.bulk")
        return timed_build(listing, out, engine="dask", scheduler=cluster.scheduler_address)


def per_repo_cost(out: Path, commits: dict[str, int]) -> dict:
    """Least-squares ``seconds = a + b * commits`` over the repositories of one build."""
    manifest = pd.read_csv(out / "manifest.csv")
    x = manifest["source"].map(commits).to_numpy(float)
    y = manifest["seconds"].to_numpy(float)
    b, a = np.polyfit(x, y, 1)
    r2 = 1 - ((y - (a + b * x)) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    panel_bytes = [(out / p).stat().st_size for p in manifest["panel"]]
    return {"a_s": round(float(a), 4), "b_s_per_1k_commits": round(float(b) * 1000, 4), "r2": round(float(r2), 3),
            "commits_total": int(x.sum()), "mean_s": round(float(y.mean()), 4),
            "panel_bytes_per_month": round(float(sum(panel_bytes) / manifest["months"].sum()), 1)}


# ---------------------------------------------------------------------------------------- embedding
def embedding_cost(texts: list[str], cache: Path) -> dict:
    from tsfuse.text import TextEncoder

    encoder = TextEncoder("default", cache_dir=cache)
    chunks = sum(len(encoder.chunk(t)[0]) for t in texts)
    start = time.perf_counter()
    for i in range(0, len(texts), EMBED_BATCH):
        encoder.encode(texts[i:i + EMBED_BATCH])
    wall = time.perf_counter() - start
    start = time.perf_counter()
    encoder.encode(texts)
    cached = time.perf_counter() - start
    return {"model": encoder.name, "readmes": len(texts), "chunks": chunks,
            "mean_chars": round(float(np.mean([len(t) for t in texts])), 1), "wall_s": round(wall, 2),
            "s_per_readme": round(wall / len(texts), 4), "cached_s_per_readme": round(cached / len(texts), 5)}


# ----------------------------------------------------------------------------------------- training
def train_worker(devices: int, epochs: int, series: int, seed: int, result: Path) -> None:
    """One timed pretraining (rank 0 writes the result; under DDP Lightning runs this for rank 1 too)."""
    from lightning.pytorch.utilities import rank_zero_only

    import tsfuse
    from tsfuse.data.synthetic import generate_panel

    quiet_logs()
    panel = generate_panel(series, 96, covariates=("authors",), start="2016-01", seed=seed)
    placement = {"accelerator": "cpu", "devices": devices, "strategy": "ddp" if devices > 1 else "auto"}
    start = time.perf_counter()
    model = tsfuse.pretrain(panel, {}, "oss-activity", preset="balanced", model={"text_model": None},
                            train={"max_epochs": epochs, "val_months": 0, "refit": False, "progress_bar": False,
                                   "logger": "none", "seed": seed, **placement})
    wall = time.perf_counter() - start
    if rank_zero_only.rank == 0:
        result.write_text(json.dumps({"wall_s": wall, "windows": model.info["trained_on"]["windows"]}))


def training_throughput(devices: int, args, folder: Path) -> dict:
    runs = {}
    for epochs in EPOCHS:
        result = folder / f"train-{devices}-{epochs}.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--train-worker", str(devices), "--epochs", str(epochs),
               "--train-series", str(args.train_series), "--seed", str(args.seed), "--result", str(result)]
        env = {k: v for k, v in os.environ.items() if k not in ("LOCAL_RANK", "WORLD_SIZE", "MASTER_PORT")}
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode:
            raise RuntimeError(f"training run {' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
        runs[epochs] = json.loads(result.read_text())
    windows = runs[EPOCHS[0]]["windows"]
    extra = runs[EPOCHS[1]]["wall_s"] - runs[EPOCHS[0]]["wall_s"]
    return {"devices": devices, "strategy": "ddp" if devices > 1 else "auto", "windows": windows,
            **{f"wall_s_{e}_epochs": round(runs[e]["wall_s"], 2) for e in EPOCHS},
            "s_per_epoch": round(extra / (EPOCHS[1] - EPOCHS[0]), 2),
            "windows_per_s": round(windows * (EPOCHS[1] - EPOCHS[0]) / extra, 1)}


# ------------------------------------------------------------------------------------------- report
def projection(res: dict, corpus_stats: dict, n: int = 100_000) -> dict:
    """Cost of ``n`` repositories from the measured per-unit costs (see docs/scaling.md)."""
    cost = res["per_repo"]
    parse_s = cost["a_s"] + cost["b_s_per_1k_commits"] * corpus_stats["mean_commits"] / 1000
    embed_s = res["embedding"]["s_per_readme"]
    windows = n * corpus_stats["mean_months"]
    best = max(res["training"], key=lambda t: t["windows_per_s"])
    return {"repos": n, "parse_s_per_repo": round(parse_s, 3), "parse_core_h": round(n * parse_s / 3600, 1),
            "embed_machine_h": round(n * embed_s / 3600, 1),
            "panel_gb": round(n * corpus_stats["mean_months"] * cost["panel_bytes_per_month"] / 1e9, 2),
            "readme_gb": round(n * corpus_stats["mean_readme_chars"] / 1e9, 2),
            "windows_per_epoch": int(windows),
            "epoch_h_at_best_measured": round(windows / best["windows_per_s"] / 3600, 1)}


def write_report(res: dict, out: Path) -> None:
    b, p, c = res["builds"], res["projection"], res["corpus_stats"]
    lines = [
        "# Scale benchmark", "", f"Command: `{res['command']}`", "",
        f"Machine: {res['machine']['cpu_count']} CPU cores ({res['machine']['processor']}), no GPU used. "
        f"Load average before / after: {res['load_before']} / {res['load_after']} — the cores are shared with "
        "other jobs, so 2 workers compete with them and with each other; read the ratios, not the absolutes.", "",
        f"## Corpus building ({res['repos']['count']} synthetic repositories, {res['repos']['commits']:,} commits)", "",
        "| run | workers | wall s | repositories/min | sum of task s |", "|---|---:|---:|---:|---:|",
        *(f"| {name} | {r['workers']} | {r['wall_s']} | {r['repos_per_min']} | {r['task_s_sum']} |"
          for name, r in b.items()), "",
        "cold: the engine starts its own LocalCluster (worker processes start and import tsfuse, torch included); "
        "warm: a started cluster whose workers already imported it, given by address (the steady state of a long "
        "build); local: in this process, one repository after the other.", "",
        f"Per repository (local run): {res['per_repo']['a_s']} s + {res['per_repo']['b_s_per_1k_commits']} s per "
        f"1,000 commits (R² {res['per_repo']['r2']}); {res['per_repo']['panel_bytes_per_month']} bytes of Parquet "
        "per project-month.", "",
        f"## README embedding ({res['embedding']['model']}, cache empty, batches of {EMBED_BATCH})", "",
        f"{res['embedding']['readmes']} READMEs of the oss-activity corpus ({res['embedding']['chunks']} chunks, "
        f"mean {res['embedding']['mean_chars']:,} characters): {res['embedding']['wall_s']} s, "
        f"**{res['embedding']['s_per_readme']} s per README**; from the cache: "
        f"{res['embedding']['cached_s_per_readme']} s per README.", "",
        f"## Training throughput (balanced preset, LSTM, no text tower, batch 256, {res['train_series']} series x 96 "
        "months)", "",
        "| processes | strategy | windows | s / epoch | windows/s |", "|---:|---|---:|---:|---:|",
        *(f"| {t['devices']} | {t['strategy']} | {t['windows']:,} | {t['s_per_epoch']} | {t['windows_per_s']:,} |"
          for t in res["training"]), "",
        "windows/s = windows x 2 / (time of 3 epochs - time of 1 epoch), each in a fresh process.", "",
        f"## Projection: {p['repos']:,} repositories", "",
        f"Real repositories are larger than these: the oss-activity corpus has {c['mean_commits']:,.0f} commits "
        f"(mean), {c['mean_months']:.0f} months and {c['mean_readme_chars']:,.0f} README characters per project.", "",
        f"- git log parsing: {p['parse_s_per_repo']} s per repository (one core) -> **{p['parse_core_h']} "
        "core-hours** (cloning not included)",
        f"- README embedding: {res['embedding']['s_per_readme']} s per README -> **{p['embed_machine_h']} hours** "
        "on this 2-core machine",
        f"- output: {p['panel_gb']} GB of panel Parquet + {p['readme_gb']} GB of README text",
        f"- training: {p['windows_per_epoch']:,} windows per epoch -> {p['epoch_h_at_best_measured']} h per epoch "
        "at the best throughput measured here", "",
        "See docs/scaling.md for the arithmetic and how to run on a cluster.", "",
        f"Versions: {', '.join(f'{k} {v}' for k, v in res['versions'].items())}. Git commit {res['git']['commit']}"
        f"{' with uncommitted changes' if res['git']['dirty'] else ''}.", "",
    ]
    (out / "scale.md").write_text("\n".join(lines), encoding="utf-8")
    (out / "scale.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")


def corpus_inputs(n_readmes: int) -> tuple[list[str], dict]:
    from tsfuse.data.corpus import load_corpus

    raw = RAW_DATA_DIR / "oss-activity"  # README texts: the shipped corpus holds embeddings only
    if not raw.is_dir():
        raise SystemExit(f"the README embedding cost is measured on real README texts: {raw} is missing")
    corpus = load_corpus(raw)
    texts = [corpus.texts[u] for u in sorted(corpus.texts) if corpus.texts[u]]
    stats = {"mean_commits": float(corpus.meta["n_commits"].mean()),
             "mean_months": float(corpus.meta["n_months"].mean()),
             "mean_readme_chars": float(np.mean([len(t) for t in corpus.texts.values()]))}
    return texts[:n_readmes], stats


def main(argv=None) -> None:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if args.train_worker:
        train_worker(args.train_worker, args.epochs, args.train_series, args.seed, Path(args.result))
        return
    quiet_logs()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = {"command": command_line("benchmarks/scale.py", argv if argv is not None else sys.argv[1:]),
           "machine": machine(), "versions": {**versions(), "dask": _version("distributed")}, "git": git_state(),
           "load_before": [round(x, 2) for x in os.getloadavg()], "train_series": args.train_series}
    readmes, res["corpus_stats"] = corpus_inputs(args.readmes)
    with tempfile.TemporaryDirectory(prefix="tsfuse-scale-") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        commits = make_repos(tmp / "repos", args, readmes)
        res["repos"] = {"count": len(commits), "commits": sum(commits.values()),
                        "make_s": round(time.perf_counter() - start, 1)}
        listing = tmp / "repos.txt"
        listing.write_text("\n".join(commits) + "\n")
        builds = {"local": {"workers": 1, **timed_build(listing, tmp / "local", engine="local", workers=1)}}
        for workers in (1, 2):
            builds[f"dask cold {workers}"] = {"workers": workers, **timed_build(
                listing, tmp / f"cold{workers}", engine="dask", workers=workers)}
            builds[f"dask warm {workers}"] = {"workers": workers, **warm_dask_build(listing, tmp / f"warm{workers}",
                                                                                    workers)}
        res["builds"], res["per_repo"] = builds, per_repo_cost(tmp / "local", commits)
        res["embedding"] = embedding_cost(readmes, tmp / "text-cache")
        res["training"] = [training_throughput(d, args, tmp) for d in (1, 2)]
    res["projection"] = projection(res, res["corpus_stats"])
    res["load_after"] = [round(x, 2) for x in os.getloadavg()]
    write_report(res, out)
    print((out / "scale.md").read_text())


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    main()
