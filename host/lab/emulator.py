"""Setting up the emulated Pico (rp2040://): its npm dependency, rp2040js, installed with
npm from the lock file shipped in the package into the user's cache, so a wphil installed
from a wheel (read-only site-packages) can run it too.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from wphil.drivers.errors import WphilError
from wphil.drivers.rp2040_pico import HARNESS, has_rp2040js, user_rp2040js
from wphil.drivers.status import status

log = logging.getLogger(__name__)

#: what npm needs to reproduce the pinned tree: the manifest and its lock file
NPM_FILES = ("package.json", "package-lock.json")
NPM_TIMEOUT_S = 600.0


class EmulatorSetupError(WphilError):
    """npm is missing or `npm ci` failed."""


def install_rp2040js(home: Path | None = None, npm: str | None = None) -> Path:
    """`npm ci` of the pinned rp2040js into `home` (default: the user cache); returns it."""
    home = Path(home) if home is not None else user_rp2040js()
    npm = npm or shutil.which("npm")
    if npm is None:
        raise EmulatorSetupError("npm not found: install Node.js >= 18 with npm "
                                 "(e.g. apt install nodejs npm), then run this again")
    home.mkdir(parents=True, exist_ok=True)
    for name in NPM_FILES:
        shutil.copyfile(HARNESS / name, home / name)
    status.info("installing rp2040js into %s (npm ci: seconds to a minute)", home)
    try:
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(home)],
                              capture_output=True, text=True, timeout=NPM_TIMEOUT_S, cwd=home)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EmulatorSetupError(f"npm ci in {home}: {exc}") from None
    log.debug("npm ci: %s%s", proc.stdout, proc.stderr)
    if proc.returncode:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise EmulatorSetupError(f"npm ci in {home} failed: {last[0]}")
    if not has_rp2040js(home):
        raise EmulatorSetupError(f"npm ci in {home} ran, but node_modules/rp2040js is not there")
    return home
