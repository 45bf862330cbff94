"""A small declarative SCPI base, in the style of PyMeasure's `Instrument`.

A driver declares what an instrument measures and sets, each with its SCPI strings, unit
and allowed values; this module turns the declarations into attributes that validate a
value *before* anything is sent, talk to the instrument, and convert the reply:

    class Meter(Instrument):
        nplc = Instrument.control("VOLT:DC:NPLC?", "VOLT:DC:NPLC %g",
                                  "Integration time", "PLC", values=(0.2, 1, 10))

The transport is anything with pyvisa's `write(str)` and `read() -> str` (a pyvisa
message-based resource, or the transcript player of `wphil.drivers.instruments.transcript`).
Commands of a `Channel` may contain `{ch}`, replaced by the channel's id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pyvisa.errors import VisaIOError

from wphil.drivers.errors import ConfigError, InstrumentError

log = logging.getLogger(__name__)

#: An SCPI error queue holds at most this many entries (IEEE 488.2 instruments: 20).
MAX_QUEUED_ERRORS = 20


class Transport(Protocol):
    def write(self, message: str) -> Any: ...
    def read(self) -> str: ...


class _Commands:
    """What instruments and their channels share: formatting, asking, telling."""

    label = "instrument"

    def _format(self, command: str) -> str:
        return command

    def write(self, command: str) -> None:
        raise NotImplementedError

    def ask(self, command: str) -> str:
        raise NotImplementedError

    def values(self, command: str, cast: Callable[[str], Any] = float) -> Any:
        """Ask and convert the reply; a reply that does not convert is an `InstrumentError`."""
        reply = self.ask(command)
        try:
            return cast(reply)
        except ValueError:
            raise InstrumentError(f"{self.label} answered {reply!r} to {command!r}, expected "
                                  f"{getattr(cast, '__name__', 'a value')}") from None

    @staticmethod
    def measurement(command: str, doc: str, unit: str = "", cast: Callable[[str], Any] = float,
                    process: Callable[[Any, Any], Any] | None = None) -> Measurement:
        """A read-only quantity: `command` is asked and its reply cast (and processed)."""
        return Measurement(command, doc, unit, cast, process)

    @staticmethod
    def control(get_command: str, set_command: str, doc: str, unit: str = "", *,
                limits: tuple[float, float] | str | None = None,
                values: Sequence[Any] | None = None, cast: Callable[[str], Any] = float,
                map_values: dict[Any, str] | None = None) -> Control:
        """A setting that can be read back, checked before it is sent: against `limits`
        (lo, hi), or the name of an attribute holding them (per-channel ratings); or against
        `values`, the allowed values; or the keys of `map_values` (value -> SCPI token)."""
        return Control(get_command, set_command, doc, unit, limits, values, cast, map_values)


class Instrument(_Commands):
    """One SCPI instrument on a transport. Sends nothing until asked to."""

    #: model names this driver accepts in the *IDN? reply (second field)
    MODELS: tuple[str, ...] = ()
    KIND = "instrument"
    ERROR_QUERY = "SYST:ERR?"

    def __init__(self, transport: Transport, resource_name: str = "") -> None:
        self.transport = transport
        self.resource_name = resource_name or "<transport>"
        self.label = f"{self.KIND} at {self.resource_name}"

    def write(self, command: str) -> None:
        log.debug("%s <- %s", self.resource_name, command)
        try:
            self.transport.write(command)
        except (VisaIOError, OSError) as exc:
            raise InstrumentError(f"{self.label} did not take {command!r}: {exc}") from None

    def ask(self, command: str) -> str:
        self.write(command)
        try:
            reply = self.transport.read().strip()
        except (VisaIOError, OSError) as exc:
            raise InstrumentError(f"{self.label} did not answer {command!r}: {exc}") from None
        log.debug("%s -> %s", self.resource_name, reply)
        return reply

    @property
    def idn(self) -> str:
        """The *IDN? reply: maker, model, serial number, firmware."""
        return self.ask("*IDN?")

    def identify(self) -> str:
        """Ask *IDN? and check the model is one this driver knows; return the reply."""
        idn = self.idn
        if not idn:
            raise InstrumentError(f"{self.label} gave an empty *IDN? reply")
        fields = [f.strip() for f in idn.split(",")]
        model = fields[1] if len(fields) > 1 else ""
        if self.MODELS and not any(model.upper().startswith(m) for m in self.MODELS):
            raise InstrumentError(f"{self.label} is {idn!r}, not a {self.KIND} of the "
                                  f"{'/'.join(self.MODELS)} class")
        self.label = f"{self.KIND} {model} at {self.resource_name}"
        return idn

    def clear(self) -> None:
        """*CLS: empty the error queue and status registers."""
        self.write("*CLS")

    def errors(self) -> list[str]:
        """Drain the error queue; the entries that are not `0,"No error"`."""
        found = []
        for _ in range(MAX_QUEUED_ERRORS):
            reply = self.ask(self.ERROR_QUERY)
            try:
                code = int(reply.split(",", 1)[0])
            except ValueError:
                raise InstrumentError(f"{self.label} answered {reply!r} to {self.ERROR_QUERY!r}, "
                                      "expected CODE,\"MESSAGE\"") from None
            if code == 0:
                break
            found.append(reply)
        return found

    def check_errors(self) -> None:
        """Raise `InstrumentError` naming every queued error, if there is any."""
        found = self.errors()
        if found:
            raise InstrumentError(f"{self.label} reported an error: {'; '.join(found)}")

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()


class Channel(_Commands):
    """One channel of an instrument; its commands have `{ch}` replaced by `id`."""

    def __init__(self, parent: Instrument, id: int) -> None:
        self.parent, self.id = parent, id

    @property
    def label(self) -> str:  # type: ignore[override]
        return f"{self.parent.label} channel {self.id}"

    def _format(self, command: str) -> str:
        return command.format(ch=self.id)

    def write(self, command: str) -> None:
        self.parent.write(command)

    def ask(self, command: str) -> str:
        return self.parent.ask(command)


class Measurement:
    """A declared read-only quantity (see `Instrument.measurement`)."""

    def __init__(self, command: str, doc: str, unit: str, cast: Callable[[str], Any],
                 process: Callable[[Any, Any], Any] | None) -> None:
        self.command, self.unit, self.cast, self.process = command, unit, cast, process
        self.__doc__ = f"{doc} ({unit})" if unit else doc
        self.name = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: _Commands | None, owner: type) -> Any:
        if obj is None:
            return self
        value = obj.values(obj._format(self.command), self.cast)
        return self.process(obj, value) if self.process else value


class Control(Measurement):
    """A declared setting: validated on assignment, then sent; reads ask it back."""

    def __init__(self, get_command: str, set_command: str, doc: str, unit: str,
                 limits: tuple[float, float] | str | None, values: Sequence[Any] | None,
                 cast: Callable[[str], Any], map_values: dict[Any, str] | None) -> None:
        super().__init__(get_command, doc, unit, str if map_values else cast, None)
        self.set_command, self.limits, self.values = set_command, limits, values
        self.map_values = map_values

    def __get__(self, obj: _Commands | None, owner: type) -> Any:
        if obj is None or not self.map_values:
            return super().__get__(obj, owner)
        reply = obj.values(obj._format(self.command), str)
        for value, text in self.map_values.items():
            if reply.upper() == str(text).upper():
                return value
        raise InstrumentError(f"{obj.label} answered {reply!r} to {obj._format(self.command)!r}, "
                              f"expected one of {', '.join(map(str, self.map_values.values()))}")

    def __set__(self, obj: _Commands, value: Any) -> None:
        self.validate(obj, value)
        sent = self.map_values[value] if self.map_values else value
        obj.write(obj._format(self.set_command) % sent)

    def validate(self, obj: _Commands, value: Any) -> None:
        """Reject a value outside the declared range or set, naming the setting and instrument."""
        unit = f" {self.unit}" if self.unit else ""
        choices = self.map_values if self.map_values is not None else self.values
        if choices is not None and value not in choices:
            raise ConfigError(f"{obj.label}: {self.name} {value!r}{unit} is not one of "
                              f"{', '.join(map(str, choices))}{unit}")
        if self.limits is not None:
            lo, hi = getattr(obj, self.limits) if isinstance(self.limits, str) else self.limits
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
                raise ConfigError(f"{obj.label}: {self.name} {value!r}{unit} is out of range: "
                                  f"must be in {lo:g}..{hi:g}{unit}")
