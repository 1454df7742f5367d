"""The suite reaches only this machine: pytest-socket (pyproject's addopts) refuses other hosts."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_a_socket_to_a_non_loopback_address_is_refused() -> None:
    # 0.0.0.0 is not on the allow list; without the guard Linux would connect it locally, so this
    # test sends nothing off the machine even if the guard were missing.
    with pytest.warns(UserWarning, match="0.0.0.0"), pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("0.0.0.0", 9), timeout=1)


def test_loopback_stays_reachable() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
