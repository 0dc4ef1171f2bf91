"""The main language of a snapshot, from the file names of its HEAD tree (no file content is read).

    python3 datasets/corpus_v2/languages.py /work/.mirror/owner+name/repo   # prints the row

``main_language`` is the language with the most files among the files of known code extensions
(v1's names: Python, JavaScript, ...), ``language_share`` its share of them, ``code_files`` their
number; ``language_group`` is v1's grouping (js_ts, python, go, c_cpp, jvm, rust, ruby, php, other).
after_batch.py appends a row per built repository to ``languages.csv`` before it deletes the snapshot.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

EXTENSIONS = {
    "py": "Python", "pyx": "Python", "js": "JavaScript", "mjs": "JavaScript", "cjs": "JavaScript", "jsx": "JavaScript",
    "ts": "TypeScript", "tsx": "TypeScript", "go": "Go", "rs": "Rust", "java": "Java", "kt": "Kotlin", "kts": "Kotlin",
    "scala": "Scala", "groovy": "Groovy", "clj": "Clojure", "c": "C", "h": "C", "cc": "C++", "cpp": "C++",
    "cxx": "C++", "hpp": "C++", "hh": "C++", "cs": "C#", "fs": "F#", "rb": "Ruby", "php": "PHP", "swift": "Swift",
    "m": "Objective-C", "mm": "Objective-C", "dart": "Dart", "ex": "Elixir", "exs": "Elixir", "erl": "Erlang",
    "hs": "Haskell", "ml": "OCaml", "r": "R", "jl": "Julia", "lua": "Lua", "sh": "Shell", "bash": "Shell",
    "vue": "Vue", "svelte": "Svelte", "coffee": "CoffeeScript", "cr": "Crystal", "zig": "Zig", "nim": "Nim",
    "pl": "Perl", "pm": "Perl", "vim": "Vim script", "el": "Emacs Lisp", "sol": "Solidity", "v": "Verilog",
    "vhd": "VHDL", "ps1": "PowerShell", "ipynb": "Jupyter Notebook", "html": "HTML", "css": "CSS", "scss": "CSS",
}
GROUPS = {"JavaScript": "js_ts", "TypeScript": "js_ts", "Vue": "js_ts", "Svelte": "js_ts", "CoffeeScript": "js_ts",
          "Python": "python", "Jupyter Notebook": "python", "Go": "go", "C": "c_cpp", "C++": "c_cpp",
          "Objective-C": "c_cpp", "Java": "jvm", "Kotlin": "jvm", "Scala": "jvm", "Groovy": "jvm", "Clojure": "jvm",
          "Rust": "rust", "Ruby": "ruby", "PHP": "php"}
COLUMNS = ["repo", "main_language", "language_group", "language_share", "code_files"]


def tree_language(git_dir: Path) -> dict:
    """``main_language, language_group, language_share, code_files`` of the HEAD tree of ``git_dir``
    (a bare repository or a work tree's ``.git``); "unknown" when no file has a known code extension."""
    names = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "-r", "--name-only", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    counts = Counter(EXTENSIONS[ext] for name in names
                     if "." in (base := name.rsplit("/", 1)[-1]) and (ext := base.rsplit(".", 1)[-1].lower()) in EXTENSIONS)
    total = sum(counts.values())
    if not total:
        return {"main_language": "unknown", "language_group": "other", "language_share": 0.0, "code_files": 0}
    language, n = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return {"main_language": language, "language_group": GROUPS.get(language, "other"),
            "language_share": round(n / total, 3), "code_files": total}


if __name__ == "__main__":
    print(tree_language(Path(sys.argv[1])))
