"""Every row of docs/errors.md: the bad input gets the documented reaction and message.

The table in docs/errors.md is the source of the expected messages: each row whose ``test`` column
says ``table`` is built by the function of the same id in :data:`CASES` and checked against the
row's reaction (error class, log level, exit status) and message excerpt.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tsfuse
from tests.conftest import TINY_MODEL, TINY_TRAIN
from tests.data.test_git import ALICE, bare_clone, commit, git, set_mtimes
from tests.data.test_git_objects import make_source, without_promisor_config
from tsfuse.app.cli import main
from tsfuse.data.sources.git import from_git
from tsfuse.data.sources.opendigger import from_opendigger, from_opendigger_tree
from tsfuse.estimator import Forecaster
from tsfuse.io.persistence import _config_digest

pytestmark = pytest.mark.usefixtures("isolated_git")  # no user or system git config

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "errors.md"
ERRORS = {cls.__name__: cls for cls in (tsfuse.PanelError, tsfuse.TextInputError, tsfuse.ModelFileError,
                                        TypeError, FileNotFoundError)}
LATIN1_README = "# Café\n".encode("latin-1")  # byte 0xe9 at offset 5 is not UTF-8


@dataclass(frozen=True)
class Row:
    id: str
    reaction: str
    message: str
    test: str


def documented_rows() -> list[Row]:
    """The rows of the "Cases" table of docs/errors.md."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").split("## Cases", 1)[1].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if re.fullmatch(r"[A-Z]\d\d", cells[0]):
            rows.append(Row(cells[0], cells[3], cells[4].strip("`"), cells[5]))
    return rows


@dataclass(frozen=True)
class Ctx:
    tmp: Path
    model: Path  # a saved tiny model folder (do not change it: copy it with .model_copy())

    def model_copy(self) -> Path:
        return Path(shutil.copytree(self.model, self.tmp / "model"))


@pytest.fixture(scope="module")
def model_dir(panel, task, tmp_path_factory) -> Path:
    model = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train=TINY_TRAIN)
    return model.save(tmp_path_factory.mktemp("bad-input") / "tiny")


def monthly(n: int = 24, start: str = "2020-01-01", **columns) -> pd.DataFrame:
    """``n`` consecutive months of ``ds`` and ``y`` (1, 2, ...), plus the given columns."""
    return pd.DataFrame({"ds": pd.date_range(start, periods=n, freq="MS"), "y": np.arange(1.0, n + 1), **columns})


def with_value(column: str, row: int, value, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    df = monthly(stars=1.0) if frame is None else frame
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    return df


def fit(ctx: Ctx, frame, readme="", **kwargs) -> Callable[[], object]:
    return lambda: tsfuse.fit(frame, readme, pretrained=str(ctx.model), finetune=False, **kwargs)


def without(folder: Path, name: str) -> Path:
    (folder / name).unlink()
    return folder


def with_file(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text)
    return folder


def edit_config(folder: Path, change: Callable[[dict], None], *, reseal: bool) -> Path:
    """Change ``config.json``; ``reseal`` recomputes its own checksum (as a consistent rewrite would)."""
    path = folder / "config.json"
    config = json.loads(path.read_text())
    change(config)
    if reseal:
        config["config_sha256"] = _config_digest(config)
    path.write_text(json.dumps(config))
    return folder


def repo_with(tmp: Path, readme: bytes, name: str = "repo") -> Path:
    """A git repository with two commits and ``readme`` as README.md."""
    r = tmp / name
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    (r / "README.md").write_bytes(readme)
    git(r, "add", "README.md")
    git(r, "commit", "-q", "-m", "readme", when="2023-01-15T10:00:00+00:00")
    commit(r, {"a.txt": "1\n"}, ALICE, "2023-02-15T10:00:00+00:00")
    return r


def opendigger_project(tmp: Path, files: dict[str, str | bytes]) -> Path:
    folder = tmp / "od" / "owner" / "repo"
    folder.mkdir(parents=True)
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return folder


def predict_short(ctx: Ctx):
    model = tsfuse.load(ctx.model)
    return lambda: model.predict(monthly(2).assign(unique_id="a/b"))


def unsorted_is_sorted(ctx: Ctx):
    def run():
        shuffled = monthly(12).sample(frac=1, random_state=0)
        assert not shuffled["ds"].is_monotonic_increasing
        panel = tsfuse.validate_panel(shuffled.assign(unique_id="a/b"))
        pd.testing.assert_series_equal(panel["ds"], monthly(12)["ds"])
    return run


def month_ends_are_month_starts(ctx: Ctx):
    def run():
        ends = monthly(12).assign(ds=pd.date_range("2020-01-31", periods=12, freq="ME"), unique_id="a/b")
        pd.testing.assert_series_equal(tsfuse.validate_panel(ends)["ds"], monthly(12)["ds"])
    return run


def future_months() -> pd.DataFrame:
    current = pd.Timestamp.now(tz="UTC").tz_localize(None).to_period("M").to_timestamp()
    return monthly(12, start=str((current - pd.DateOffset(months=8)).date()))


def utf8_bytes_are_decoded(ctx: Ctx):
    def run():
        model = tsfuse.fit(monthly(), "# Demo\n\nA tiny project, café.".encode(), pretrained=str(ctx.model),
                           finetune=False)
        assert model.texts["project"] == "# Demo\n\nA tiny project, café."
    return run


def version_1_is_read(ctx: Ctx):
    def run():
        v1 = edit_config(ctx.model_copy(), lambda c: (c.update(format_version=1), c.pop("config_sha256")),
                         reseal=False)
        history = monthly().assign(unique_id="a/b")
        pd.testing.assert_frame_equal(tsfuse.load(v1).predict(history), tsfuse.load(ctx.model).predict(history))
    return run


def empty_repo(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    git(tmp / "empty", "init", "-q")
    return tmp / "empty"


def shallow_clone(tmp: Path) -> Path:
    source = repo_with(tmp, b"# Demo\n")
    clone = tmp / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", source.as_uri(), str(clone)], check=True, capture_output=True)
    return clone


def blobless_clone(tmp: Path) -> Path:
    clone = tmp / "blobless"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", make_source(tmp).as_uri(), str(clone)], check=True,
                   capture_output=True)
    return clone


def stale_clone(tmp: Path) -> Path:
    repo = repo_with(tmp, b"# Demo\n")
    set_mtimes(repo, "2023-06-10T00:00:00Z")
    return repo


def plain_folder(tmp: Path) -> Path:
    (tmp / "plain").mkdir()
    return tmp / "plain"


def sub_folder(tmp: Path) -> Path:
    repo = repo_with(tmp, b"# Demo\n")
    (repo / "sub").mkdir()
    return repo / "sub"


def csv_file(tmp: Path) -> Path:
    monthly().to_csv(tmp / "p.csv", index=False)
    return tmp / "p.csv"


def latin1_file(tmp: Path) -> Path:
    (tmp / "README.md").write_bytes(LATIN1_README)
    return tmp / "README.md"


CASES: dict[str, Callable[[Ctx], Callable[[], object]]] = {
    "F01": lambda ctx: lambda: tsfuse.validate_panel([1, 2]),
    "F02": lambda ctx: fit(ctx, [1, 2]),
    "F03": lambda ctx: fit(ctx, pd.DataFrame(columns=["ds", "y"])),
    "F04": lambda ctx: fit(ctx, monthly(1)),
    "F05": lambda ctx: lambda: tsfuse.fit(monthly(6), "", pretrained=None, model=TINY_MODEL, train=TINY_TRAIN),
    "F06": predict_short,
    "F07": lambda ctx: fit(ctx, pd.concat([monthly().assign(unique_id=u) for u in ("a/b", "c/d")])),
    "F08": lambda ctx: fit(ctx, monthly().rename(columns={"ds": "month"})),
    "F09": lambda ctx: fit(ctx, monthly().drop(columns="y")),
    "F10": lambda ctx: fit(ctx, pd.concat([monthly(), monthly()[["y"]]], axis=1)),
    "F11": lambda ctx: fit(ctx, with_value("ds", 1, "March")),
    "F12": lambda ctx: fit(ctx, with_value("ds", 1, None)),
    "F13": lambda ctx: fit(ctx, monthly().assign(ds=pd.date_range("2020-01-01", periods=24, freq="D"))),
    "F14": lambda ctx: fit(ctx, with_value("ds", 2, pd.Timestamp("2020-02-01"))),
    "F15": lambda ctx: fit(ctx, monthly().drop(index=2)),
    "F16": lambda ctx: fit(ctx, future_months()),
    "F17": unsorted_is_sorted,
    "F18": lambda ctx: fit(ctx, with_value("y", 3, "lots")),
    "F19": lambda ctx: fit(ctx, monthly().assign(y=pd.date_range("2020-01-01", periods=24, freq="MS"))),
    "F20": lambda ctx: fit(ctx, with_value("y", 3, np.nan)),
    "F21": lambda ctx: fit(ctx, with_value("y", 3, np.inf)),
    "F22": lambda ctx: fit(ctx, with_value("y", 3, -1)),
    "F23": lambda ctx: fit(ctx, with_value("y", 3, 1e300)),
    "F24": lambda ctx: fit(ctx, with_value("stars", 3, np.nan)),
    "F25": lambda ctx: fit(ctx, with_value("stars", 3, -2)),
    "F26": lambda ctx: fit(ctx, monthly().assign(y=np.arange(24) % 2 == 0)),
    "F27": lambda ctx: fit(ctx, with_value("y", 3, "5")),
    "F28": month_ends_are_month_starts,
    "T01": lambda ctx: fit(ctx, monthly(), ""),
    "T02": lambda ctx: fit(ctx, monthly(), "word " * 6_000),
    "T03": lambda ctx: fit(ctx, monthly(), "abc\x00def"),
    "T04": lambda ctx: fit(ctx, monthly(), "\x01" * 40 + "plain text"),
    "T05": lambda ctx: fit(ctx, monthly(), LATIN1_README),
    "T06": utf8_bytes_are_decoded,
    "T07": lambda ctx: fit(ctx, monthly(), 123),
    "T08": lambda ctx: fit(ctx, monthly(), pd.DataFrame({"unique_id": ["x"], "valid_from": ["soon"], "text": ["hi"]})),
    "G01": lambda ctx: lambda: from_git(ctx.tmp / "nope"),
    "G02": lambda ctx: lambda: from_git(plain_folder(ctx.tmp)),
    "G03": lambda ctx: lambda: from_git(sub_folder(ctx.tmp)),
    "G04": lambda ctx: lambda: from_git(shallow_clone(ctx.tmp)),
    "G05": lambda ctx: lambda: from_git(empty_repo(ctx.tmp)),
    "G06": lambda ctx: lambda: from_git(repo_with(ctx.tmp, LATIN1_README), snapshot="2023-06-01"),
    "G07": lambda ctx: lambda: from_git(repo_with(ctx.tmp, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")),
    "G08": lambda ctx: lambda: from_git(blobless_clone(ctx.tmp)),
    "G09": lambda ctx: lambda: from_git(without_promisor_config(bare_clone(make_source(ctx.tmp), ctx.tmp / "c.git",
                                                                           "--filter=blob:none"))),
    "G10": lambda ctx: lambda: from_git(without_promisor_config(bare_clone(make_source(ctx.tmp), ctx.tmp / "s.git",
                                                                           "--filter=blob:limit=4m"))),
    "G11": lambda ctx: lambda: from_git(stale_clone(ctx.tmp)),
    "G12": lambda ctx: lambda: from_git(stale_clone(ctx.tmp), until="2023-06"),
    "G13": lambda ctx: lambda: from_git(repo_with(ctx.tmp, b"# Demo\n"), until="June"),
    "O01": lambda ctx: lambda: from_opendigger(ctx.tmp / "owner" / "missing"),
    "O02": lambda ctx: lambda: from_opendigger(opendigger_project(ctx.tmp, {"stars.json": "{}"})),
    "O03": lambda ctx: lambda: from_opendigger(opendigger_project(ctx.tmp, {"activity.json": "{not json"})),
    "O04": lambda ctx: lambda: from_opendigger(opendigger_project(ctx.tmp, {"activity.json": b'{"caf\xe9": 1}'})),
    "O05": lambda ctx: lambda: from_opendigger(opendigger_project(ctx.tmp, {"activity.json": "[1, 2]"})),
    "O06": lambda ctx: lambda: from_opendigger(opendigger_project(ctx.tmp, {"activity.json": '{"2023-01": "many"}'})),
    "O07": lambda ctx: lambda: from_opendigger(opendigger_project(ctx.tmp, {"activity.json": '{"2023-01": NaN}'})),
    "O08": lambda ctx: lambda: from_opendigger(opendigger_project(ctx.tmp, {"activity.json": '{"2023": 1}'})),
    "O09": lambda ctx: lambda: from_opendigger(opendigger_project(
        ctx.tmp, {"activity.json": '{"2023-01": 1}', "meta.json": '{"updatedAt": "yesterday"}'})),
    "O10": lambda ctx: lambda: from_opendigger_tree(ctx.tmp / "missing"),
    "M01": lambda ctx: lambda: tsfuse.load(ctx.tmp / "nope"),
    "M02": lambda ctx: lambda: tsfuse.load(without(ctx.model_copy(), "config.json")),
    "M03": lambda ctx: lambda: tsfuse.load(with_file(ctx.model_copy(), "config.json", "{")),
    "M04": lambda ctx: lambda: tsfuse.load(edit_config(ctx.model_copy(), lambda c: c.update(format="other"),
                                                       reseal=True)),
    "M05": lambda ctx: lambda: tsfuse.load(edit_config(ctx.model_copy(), lambda c: c.update(format_version=99),
                                                       reseal=True)),
    "M06": lambda ctx: lambda: tsfuse.load(edit_config(ctx.model_copy(), lambda c: c.pop("format_version"),
                                                       reseal=True)),
    "M07": version_1_is_read,
    "M08": lambda ctx: lambda: tsfuse.load(edit_config(ctx.model_copy(), lambda c: c["model"].update(hidden_size=8),
                                                       reseal=False)),
    "M09": lambda ctx: lambda: tsfuse.load(without(ctx.model_copy(), "model.safetensors")),
    "M11": lambda ctx: lambda: tsfuse.load(with_file(ctx.model_copy(), "notes.txt", "hi")),
    "M12": lambda ctx: lambda: tsfuse.load(edit_config(
        ctx.model_copy(), lambda c: (c.update(tsfuse_version="9.9.9"), c["model"].update(new_field=1)), reseal=True)),
    "M16": lambda ctx: lambda: tsfuse.fit(monthly(), "", pretrained=str(ctx.tmp / "nope")),
    "C01": lambda ctx: lambda: main(["fit", "--project", "NOPE/NOPE"]),
    "C02": lambda ctx: lambda: main(["fit", "--csv", str(ctx.tmp / "missing.csv"), "--pretrained", str(ctx.model)]),
    "C03": lambda ctx: lambda: main(["fit", "--git", str(plain_folder(ctx.tmp)), "--pretrained", str(ctx.model)]),
    "C04": lambda ctx: lambda: main(["fit", "--csv", "p.csv", "--git", "."]),
    "C05": lambda ctx: lambda: main(["fit", "--project", "pallets/flask", "--readme", "README.md"]),
    "C06": lambda ctx: lambda: main(["data", "show", "pallets/flask", "--months", "0"]),
    "C07": lambda ctx: lambda: main(["fit", "--csv", str(csv_file(ctx.tmp)), "--readme", str(latin1_file(ctx.tmp)),
                                     "--pretrained", str(ctx.model)]),
    "C09": lambda ctx: lambda: main(["predict", "--model", str(plain_folder(ctx.tmp))]),
}
TABLE_ROWS = [row for row in documented_rows() if row.test == "table"]


def test_the_table_and_the_cases_match():
    rows = documented_rows()
    assert len({r.id for r in rows}) == len(rows), "a case id is used twice in docs/errors.md"
    assert {r.id for r in TABLE_ROWS} == set(CASES)
    for row in rows:
        if row.test != "table":
            file, func = row.test.split("::")
            assert f"def {func}(" in (ROOT / file).read_text(encoding="utf-8"), row


def _exit_status(run: Callable[[], object]) -> tuple[int, str]:
    """(status, message) of a CLI call: main's return value, or the SystemExit it raised."""
    try:
        return run(), ""
    except SystemExit as exc:
        return (exc.code, "") if isinstance(exc.code, int) else (1, str(exc.code))


@pytest.mark.parametrize("row", TABLE_ROWS, ids=[r.id for r in TABLE_ROWS])
def test_documented_case(row, model_dir, tmp_path, caplog, capsys):
    run = CASES[row.id](Ctx(tmp_path, model_dir))
    if row.reaction in ERRORS:
        with pytest.raises(ERRORS[row.reaction]) as info:
            run()
        assert type(info.value).__name__ == row.reaction
        assert row.message in str(info.value)
    elif row.reaction in ("warning", "info"):
        with caplog.at_level(logging.INFO):
            run()
        assert any(r.levelname == row.reaction.upper() and row.message in r.getMessage() for r in caplog.records)
    elif row.reaction.startswith("exit "):
        status, message = _exit_status(run)
        stderr = capsys.readouterr().err + message
        assert status == int(row.reaction.split()[1]), stderr
        assert row.message in stderr and "Traceback" not in stderr
    else:
        assert row.reaction == "accepted"
        run()  # asserts what "accepted" means for the case
