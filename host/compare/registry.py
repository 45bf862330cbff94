"""The peer optimizers by name: the classic ones (peers.py) and the model-based and portfolio
ones (noisy_peers.py, which subclass PeerOptimizer), and `make_peer`, which checks a peer's
package before it is used."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wphil.compare.noisy_peers import BOBYQA, NGOpt
from wphil.compare.peers import CMAES, CMAESMiniBatch, NelderMead, PeerOptimizer, Powell
from wphil.drivers.errors import ConfigError

PEERS: dict[str, type[PeerOptimizer]] = {p.name: p for p in (NelderMead, Powell, CMAES,
                                                             CMAESMiniBatch, NGOpt, BOBYQA)}


def make_peer(name: str, options: Mapping[str, Any] | None = None) -> PeerOptimizer:
    """The peer optimizer called `name`, its package checked; a `ConfigError` otherwise."""
    if name not in PEERS:
        raise ConfigError(f"unknown peer optimizer {name!r}; valid: {', '.join(PEERS)}")
    peer = PEERS[name]
    try:
        __import__(peer.package)
    except ImportError:
        raise ConfigError(f"optimizer {name} needs the {peer.package} package: "
                          f"pip install 'wphil[{peer.extra}]'") from None
    return peer(options)


