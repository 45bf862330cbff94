"""socket:// (a ser2net in raw mode): `in_waiting` counts the bytes waiting, so the link
reads a reply in one piece instead of one byte per select (pyserial's own answers 0 or 1)."""

from __future__ import annotations

import socket
import time

import pytest
import serial

from wphil.drivers.socket_port import open_socket


def test_in_waiting_is_every_byte_the_socket_holds() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = open_socket(f"socket://127.0.0.1:{server.getsockname()[1]}", 115200, 0.5)
        peer, _ = server.accept()
        with peer:
            try:
                assert port.in_waiting == 0
                reply = bytes(range(256)) + b"\x00" * 44
                peer.sendall(reply)
                until = time.monotonic() + 5
                while port.in_waiting < len(reply) and time.monotonic() < until:
                    time.sleep(0.01)
                assert port.in_waiting == len(reply)
                assert port.read(port.in_waiting) == reply and port.in_waiting == 0
            finally:
                port.close()


def test_a_closed_socket_port_says_so() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = open_socket(f"socket://127.0.0.1:{server.getsockname()[1]}", 115200, 0.5)
        port.close()
    with pytest.raises(serial.PortNotOpenError):
        port.in_waiting  # noqa: B018 - the property is the call under test
