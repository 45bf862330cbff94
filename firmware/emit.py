# Machine code where the port compiles it, bytecode where it does not: chosen at import.
#
# kernels.py is written for MicroPython's native and viper emitters. A port built without
# them refuses `@micropython.native`/`@micropython.viper` when the module compiles
# (SyntaxError: the unix port on aarch64, for one); `wphil flash` then leaves kernels.py as
# source (host/lab/firmware_files.py), and load() compiles that source again without the
# decorators, the viper pointer casts as identities: the same code, as bytecode.
# BYTECODE = True asks for the bytecode even where the emitters exist (the tests run both).
import sys

BYTECODE = False
_cache = {}


def _same(x):
    return x


def load(name, bytecode=None):
    """Module `name`, compiled as it was written where the port can, as bytecode otherwise."""
    if bytecode is None:
        bytecode = BYTECODE
    key = (name, bytecode)
    if key in _cache:
        return _cache[key]
    module = None
    if not bytecode:
        try:
            module = __import__(name)
        except SyntaxError:
            pass
    if module is None:
        module = _bytecode(name)
    _cache[key] = module
    return module


def kernels():
    return load("kernels")


def emitter(module):
    """'native' when the module's functions are machine code, else 'bytecode'."""
    return getattr(module, "EMITTER", "native")


class _Module:
    EMITTER = "bytecode"


def _decorator(line):
    line = line.lstrip()
    return line.startswith("@micropython.native") or line.startswith("@micropython.viper")


def _bytecode(name):
    here = __file__.rsplit("/", 1)[0] + "/" if "/" in __file__ else ""
    sys.modules.pop(name, None)
    with open(here + name + ".py") as f:
        source = "".join(line for line in f if not _decorator(line))
    scope = {"__name__": name, "ptr8": _same, "ptr16": _same, "ptr32": _same}
    exec(source, scope)
    module = _Module()
    for key in scope:
        setattr(module, key, scope[key])
    return module
