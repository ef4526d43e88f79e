"""Network faults between a till and two server nodes on one PostgreSQL: exactly once after
healing, when the retry reaches the other node.

The same faults and assertions as the SQLite reliability test
(:func:`tests.support.exactly_once.each_fault_then_healing`), with the fault proxy as the load
balancer: the batches hit by a fault go to one node, and once the proxy heals it sends the
till's retry to the other one — the node that never saw the first attempt must still answer
the checks the first node applied as duplicates, and apply the rest once. The nodes swap roles
from one fault to the next.
"""

from __future__ import annotations

from pathlib import Path

from processing.client import ProcessingClient
from tests.faultproxy import FaultProxy
from tests.support.exactly_once import FAULTS, each_fault_then_healing, pg_rows
from tests.support.nodes import node, seed_tills


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def test_each_network_fault_on_one_node_then_healing_on_the_other_applies_exactly_once(
    pg_dsn: str, tmp_path: Path
) -> None:
    (api_key,) = seed_tills(pg_dsn, 1)
    with (
        node(pg_dsn, tmp_path, "a") as (_, url_a),
        node(pg_dsn, tmp_path, "b") as (_, url_b),
        ProcessingClient(url_a, api_key) as oracle,
        FaultProxy(_address(url_a)) as proxy,
    ):
        nodes = [_address(url_a), _address(url_b)]
        routed: list[tuple[int, bool, tuple[str, int]]] = []

        def route(n: int, healing: bool) -> None:
            proxy.upstream = nodes[(n + healing) % 2]
            routed.append((n, healing, proxy.upstream))

        committed = each_fault_then_healing(
            pg_rows(pg_dsn), oracle, api_key, proxy, tmp_path / "till.db", route
        )
    assert len(committed) > 0
    # Every fault was healed through the node that did not take the faulted drains.
    assert [(n, h) for n, h, _ in routed] == [(n, h) for n in range(len(FAULTS)) for h in (0, 1)]
    assert all(routed[i][2] != routed[i + 1][2] for i in range(0, len(routed), 2))
