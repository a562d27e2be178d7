"""Where the lab keeps things: its state, its build cache and the CRDs it installs."""

import os
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent
REPO_ROOT = LAB_DIR.parent.parent


def state_dir() -> Path:
    return Path(os.environ.get("LAB_STATE_DIR") or REPO_ROOT / ".lab").resolve()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ontap-virtualization-lab"


def crds_dir() -> Path:
    # The pinned upstream CRDs live in the shared folder beside the checkout (DESIGN.md §4).
    return Path(os.environ.get("LAB_CRDS_DIR") or REPO_ROOT.parent / "shared" / "crds")
