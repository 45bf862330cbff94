# Loading a module written for MicroPython's native emitter on a port that may lack one.
# `@micropython.native` is checked when the module compiles: a port without the emitter
# (the unix port on aarch64, for one) raises SyntaxError and never runs the module. Then
# the same source is compiled without those decorators: the same code, as bytecode.


class _Module:
    pass


def load(name, folder=None):
    """Module `name` (the file name.py in `folder`, by default this file's folder), native
    where the port can compile it so, bytecode otherwise."""
    try:
        return __import__(name)
    except SyntaxError:
        pass
    if folder is None:
        folder = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    with open(folder + "/" + name + ".py") as f:
        source = "".join(line for line in f
                         if not line.lstrip().startswith("@micropython.native"))
    scope = {"__name__": name}
    exec(source, scope)
    module = _Module()
    for key, value in scope.items():
        setattr(module, key, value)
    return module
