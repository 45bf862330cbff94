"""Child processes that a test interrupts with SIGINT, as Ctrl-C at a terminal does.

A shell starts a background job with SIGINT ignored, and the ignore is inherited: pytest run
as one (`pytest &`, some CI runners) would start every `wphil` with Ctrl-C ignored, and a
Ctrl-C test would then measure the harness, not wphil. `CTRL_C` restores the default
before the child starts, so Python installs its KeyboardInterrupt handler there."""

from __future__ import annotations

import signal


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


#: subprocess.Popen(..., **CTRL_C): a child that Ctrl-C reaches whatever this process ignores
CTRL_C = {"preexec_fn": _default_sigint}
