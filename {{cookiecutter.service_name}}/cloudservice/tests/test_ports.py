from __future__ import annotations

import socket

import pytest

from cloudservice.ports import AZURITE_PORTS, assign, is_free, preferred


def always_free(port: int) -> bool:
    return True


@pytest.mark.parametrize(
    ("cloud", "local"),
    [(80, 8080), (443, 8443), (1023, 9023), (1024, 1024), (8080, 8080), (None, 8000)],
)
def test_privileged_ports_move_up_by_8000(cloud, local):
    assert preferred(cloud) == local


def test_roles_in_order_take_the_next_port_not_taken():
    # The template's web roles: 80, 8080, 8081.
    wanted = [("Django", 80), ("Flask", 8080), ("Bottle", 8081)]
    assert assign(wanted, free=always_free) == {"Django": 8080, "Flask": 8081, "Bottle": 8082}


def test_instances_of_one_role_get_consecutive_ports():
    wanted = [
        (("Site_IN_0", "HttpIn"), 80),
        (("Site_IN_1", "HttpIn"), 80),
        (("Api_IN_0", "HttpIn"), 8081),
    ]
    assert list(assign(wanted, free=always_free).values()) == [8080, 8081, 8082]


def test_ports_in_use_and_azurite_ports_are_skipped():
    busy = {8080, 8081}
    ports = assign([("A", 80), ("B", 10000)], free=lambda port: port not in busy)
    assert ports == {"A": 8082, "B": 10003}
    assert not set(ports.values()) & AZURITE_PORTS


def test_running_out_of_ports_is_an_error():
    with pytest.raises(RuntimeError, match="no free local port at or above 65535"):
        assign([("A", 65535)], free=lambda port: False)


def test_a_listening_port_is_not_free():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not is_free(port)
        assert assign([("A", port)])["A"] != port
