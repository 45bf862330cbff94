"""The SCPI behaviour of a 34461A measuring DC volts, for simulated benches.

Unlike pyvisa-sim's fixed replies, its readings come from a `source()` callable (for wphil:
the voltage on the mock device's DAC channel under the probe), so a calibration against it
measures something real. It parses SCPI as the meter does (short and long mnemonics, optional
nodes, any case), keeps range, autorange and NPLC, queues errors (-113 undefined header,
-222 data out of range, -109 missing parameter), reads 9.9E+37 on overload, and adds
Gaussian noise that shrinks with the integration time. Transport-free: `handle(line)`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from wphil.drivers.instruments.keysight34461a import NPLCS, OVERLOAD, OVERRANGE, VOLTAGE_RANGES

IDN = "Keysight Technologies,34461A,WPHIL-SIM,wphil-probe-1"
#: reading noise (rms, ppm of range) per NPLC; the order of the 34461A's datasheet figures
NOISE_PPM_OF_RANGE = {0.02: 30.0, 0.2: 3.0, 1.0: 1.0, 10.0: 0.3, 100.0: 0.1}
MAX_ERRORS = 20


def mnemonic(pattern: str) -> re.Pattern[str]:
    """Regex for an SCPI header pattern: `CONFigure[:VOLTage][:DC]` matches CONF, CONF:VOLT:DC,
    configure:voltage... (upper case required, lower case optional, [..] optional). It is
    matched against the header with one leading colon (`header()`)."""
    regex = ""
    for optional, word, query in re.findall(r"(\[?):?([A-Za-z*]+)\]?(\??)", pattern):
        short = "".join(c for c in word if c.isupper() or c == "*")
        rest = word[len(short):].upper()
        part = ":" + re.escape(short) + (f"(?:{re.escape(rest)})?" if rest else "")
        regex += (f"(?:{part})?" if optional else part) + (r"\?" if query else "")
    return re.compile(regex + "$", re.IGNORECASE)


def header(command: str) -> str:
    """`:conf:volt` and `conf:volt` are the same header: normalise to one leading colon."""
    return ":" + command.lstrip(":")


class Simulated34461A:
    """A 34461A whose input voltage is `source()`, driven by SCPI lines."""

    def __init__(self, source: Callable[[], float], seed: int = 0) -> None:
        self.source = source
        self.rng = random.Random(seed)
        self.errors: list[str] = []
        self.reset()
        self.commands: list[tuple[re.Pattern[str], Callable[[str], str | None]]] = [
            (mnemonic(p), h) for p, h in (
                ("*IDN?", lambda a: IDN), ("*RST", lambda a: self.reset()),
                ("*CLS", lambda a: self.errors.clear()), ("*OPC?", lambda a: "1"),
                ("SYSTem:ERRor[:NEXT]?", lambda a: self._next_error()),
                ("CONFigure[:VOLTage][:DC]", self._configure),
                ("MEASure[:VOLTage][:DC]?", lambda a: self._configure(a) or self._read()),
                ("READ?", lambda a: self._read()),
                ("[SENSe:]VOLTage[:DC]:RANGe:AUTO", self._set_autorange),
                ("[SENSe:]VOLTage[:DC]:RANGe:AUTO?", lambda a: str(int(self.autorange))),
                ("[SENSe:]VOLTage[:DC]:RANGe", lambda a: self._set_range(a, "range")),
                ("[SENSe:]VOLTage[:DC]:RANGe?", lambda a: f"{self.range:+.8E}"),
                ("[SENSe:]VOLTage[:DC]:NPLCycles", self._set_nplc),
                ("[SENSe:]VOLTage[:DC]:NPLCycles?", lambda a: f"{self.nplc:+.8E}"),
            )]

    def reset(self) -> None:
        self.range, self.autorange, self.nplc = 10.0, True, 10.0

    def handle(self, line: str) -> str | None:
        """Execute one program message (commands separated by `;`); the reply, if any."""
        replies = [r for r in (self._one(cmd.strip()) for cmd in line.split(";") if cmd.strip())
                   if r is not None]
        return ";".join(replies) if replies else None

    def _one(self, command: str) -> str | None:
        head, _, args = command.partition(" ")
        name = header(head)
        for pattern, handler in self.commands:
            if pattern.match(name):
                return handler(args.strip())
        self._error('-113,"Undefined header"')
        return None

    def _error(self, entry: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(entry)

    def _next_error(self) -> str:
        return self.errors.pop(0) if self.errors else '+0,"No error"'

    def _configure(self, args: str) -> None:
        self.reset()
        first = args.split(",")[0].strip().upper()
        if first and first not in ("AUTO", "DEF"):
            self._set_range(first, "range")

    def _set_range(self, arg: str, what: str) -> None:
        try:
            volts = float(arg)
        except ValueError:
            self._error('-109,"Missing parameter"' if not arg else '-222,"Data out of range"')
            return
        fits = [r for r in VOLTAGE_RANGES if abs(volts) <= r]   # the meter rounds up
        if not fits:
            self._error('-222,"Data out of range"')
            return
        self.range, self.autorange = fits[0], False

    def _set_autorange(self, arg: str) -> None:
        if arg.upper() not in ("ON", "OFF", "1", "0"):
            self._error('-224,"Illegal parameter value"')
            return
        self.autorange = arg.upper() in ("ON", "1")

    def _set_nplc(self, arg: str) -> None:
        try:
            wanted = float(arg)
        except ValueError:
            self._error('-222,"Data out of range"')
            return
        fits = [n for n in NPLCS if wanted <= n * (1 + 1e-9)]
        self.nplc = fits[0] if fits else NPLCS[-1]

    def _read(self) -> str:
        volts = self.source()
        if self.autorange:
            self.range = next((r for r in VOLTAGE_RANGES if abs(volts) <= r * OVERRANGE),
                              VOLTAGE_RANGES[-1])
        if abs(volts) > self.range * OVERRANGE:
            return f"{OVERLOAD:+.8E}"
        volts += self.rng.gauss(0.0, NOISE_PPM_OF_RANGE[self.nplc] * 1e-6 * self.range)
        return f"{volts:+.8E}"
