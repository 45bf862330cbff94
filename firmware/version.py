# Firmware identity: the version the host checks on connect, the modules that make up
# the board's firmware, and the digest of their files (reported in the handshake, so
# `wphil flash` can confirm what is on the board). Imported on the board and by the host.
import binascii
import hashlib

# 0.2.0: SEQUENCE (recurrent benches); 0.2.1: atomic requests; 0.2.2: HELLO "mpy";
# 0.2.3: the on-chip training loop compiled (kernels.py)
# 0.3.0 (protocol 2): brief HELLO, short-form CONFIGURE, SEQUENCE duration bound, SIM_BOARD
# (a simulated board takes its board instance from the host); 0.3.1: CONFIGURE's optional
# dac.ldac_gpio (a 9th dac value in the short form), SEQUENCE's LDAC-gated input updates
FIRMWARE_VERSION = "0.3.1"

# the modules copied to a board ("main" stays source: MicroPython boots main.py)
MODULES = ("main", "version", "protocol", "stdio", "board", "server", "rig", "onchip",
           "mcp4728", "rp2040_adc", "ads1115", "sequence", "dac_address", "config_fields",
           "emit", "kernels", "hot")
# modules of machine code (@micropython.native/viper): on a board without a native emitter
# they stay source, and emit.py compiles them as bytecode
NATIVE_MODULES = ("kernels",)


def digest(entries):
    """Short SHA-256 of (file name, content) pairs, in the order given (sort them)."""
    h = hashlib.sha256()
    for name, data in entries:
        h.update(name.encode())
        h.update(b"\0%d\0" % len(data))
        h.update(data)
    return binascii.hexlify(h.digest()).decode()[:16]


def module_file(module, exists):
    """The file a module is loaded from on a board. MicroPython's import looks for
    NAME.py before NAME.mpy, so a stale source shadows the compiled file."""
    if module == "main" or exists(module + ".py") or not exists(module + ".mpy"):
        return module + ".py"
    return module + ".mpy"


def files_digest(root=""):
    """Digest of the firmware files under `root` (the board's filesystem root by default)."""
    import os

    def exists(name):
        try:
            os.stat(root + name)
            return True
        except OSError:
            return False

    entries = []
    for module in sorted(MODULES):
        name = module_file(module, exists)
        if exists(name):
            with open(root + name, "rb") as f:
                entries.append((name, f.read()))
    return digest(entries)
