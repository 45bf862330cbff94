"""The one exception hierarchy of wphil.

The CLI maps these to exit codes: `ConfigError` (a bad bench file, URL, option or
value) exits 2, every `DeviceError` exits 1.
"""

from __future__ import annotations


class WphilError(Exception):
    """Base of every error wphil raises on purpose."""


class ConfigError(WphilError, ValueError):
    """A bad bench file, URL, task or option: the user can fix it by editing input."""


class DeviceError(WphilError):
    """The device could not be reached or misbehaved."""


class DeviceTimeout(DeviceError, TimeoutError):
    """No (complete) answer from the device in time."""


class ProtocolError(DeviceError):
    """A frame was malformed, corrupted, or the peer speaks another protocol version."""


class InstrumentError(DeviceError):
    """A bench instrument (DMM, power supply) did not answer, or reported an error."""


class FirmwareError(DeviceError):
    """The firmware answered with an error reply (code + message)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"firmware error {code}: {message}")
        self.code = code
        self.message = message
