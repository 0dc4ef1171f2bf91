"""Build the embedded corpora shipped in the package from the raw shared data.

    python datasets/build_corpora.py [--shared ../shared/data] [--out tsfuse/data/embedded]

(the same as ``tsfuse data build``). The work is done by :mod:`tsfuse.data.build`; see
datasets/DATASHEET.md for what is built and why the bytes are reproducible.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from tsfuse.app.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["data", "build", *sys.argv[1:]]))
