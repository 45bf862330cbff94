"""Seeds for a simulated board behind any serial line: which board instance it simulates.

A `upy://` or `rp2040://` device starts its own board process with the board instance of
its `board_seed`. A simulated board that runs for longer (the firmware under the unix port
behind a pty, ser2net or a labgrid place, serving job after job of a bench farm) is told
instead, with the firmware's SIM_BOARD command (firmware/PROTOCOL.md): the host draws the
instance (drivers/analog.py, the same draw as mock:// and upy://) and sends it with the
noise seed, before CONFIGURE. A real board has nothing to simulate: it is not sent, and
the seeds are logged as not applying (its HELLO says `board` "pico").

URL options (serial://, socket://, rfc2217://, loop://): seed=N, board_seed=N, as for
upy://. They are taken out of the URL before pyserial sees it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from wphil.drivers.bench import Bench
from wphil.drivers.urls import natural

log = logging.getLogger(__name__)

#: URL options naming the simulated board instance and its read-noise seed
SIM_OPTIONS = {"seed": natural, "board_seed": natural}
SIM_BOARD_NAME = "sim"          # what HELLO's `board` says on firmware/sim


def split_sim_options(url: str) -> tuple[str, dict[str, str]]:
    """(the URL without seed/board_seed, those options as given); the other options are
    kept byte for byte (faults=drop:0.1,flip:0.1 stays unescaped)."""
    base, _, query = url.partition("?")
    if not query:
        return url, {}
    kept, sim = [], {}
    for item in query.split("&"):
        name, _, value = item.partition("=")
        if name in SIM_OPTIONS:
            sim[name] = value
        else:
            kept.append(item)
    return base + ("?" + "&".join(kept) if kept else ""), sim


def parse_sim_options(url: str) -> dict[str, int]:
    """seed and board_seed of any serial URL, checked (ConfigError naming the range)."""
    from wphil.drivers.errors import ConfigError

    out = {}
    for name, raw in split_sim_options(url)[1].items():
        try:
            out[name] = SIM_OPTIONS[name](raw)
        except ValueError:
            raise ConfigError(f"{url}: option {name}={raw!r} must be "
                              f"{SIM_OPTIONS[name].__name__}") from None
    return out


def sim_seeds(options: dict[str, Any], bench: Bench) -> dict[str, int] | None:
    """The board and noise seeds the URL asks for (the bench's [sim] ones for a missing
    one), or None if it asks for neither."""
    if not any(k in options for k in SIM_OPTIONS):
        return None
    return {"board_seed": int(options.get("board_seed", bench.sim.board_seed)),
            "noise_seed": int(options.get("seed", bench.sim.noise_seed))}


def sim_board_payload(bench: Bench, seeds: dict[str, int], keep: bool = False) -> bytes:
    """SIM_BOARD's JSON: the keys of the board file upy:// writes, but the normal quantiles
    (the same for every board: the simulated board keeps its own). `keep`: a board that
    already is this instance carries on (its noise stream is not restarted)."""
    from wphil.drivers.analog import BoardInstance
    from wphil.drivers.sim_tables import as_mcp4728 as _as_mcp4728

    cfg = {"bench": _as_mcp4728(bench),
           "board": BoardInstance.draw(bench, seeds["board_seed"]).to_dict(),
           "noise_seed": seeds["noise_seed"], "read_noise_volts": bench.sim.read_noise_volts,
           "keep": keep}
    return json.dumps(cfg, separators=(",", ":")).encode()


def applies(hello: dict[str, Any], port: str, seeds: dict[str, int]) -> bool:
    """Whether the board that said `hello` simulates one (else the seeds are logged)."""
    if hello.get("board") == SIM_BOARD_NAME:
        return True
    log.info("%s is a real board (%s): board_seed=%d and seed=%d do not apply", port,
             hello.get("board"), seeds["board_seed"], seeds["noise_seed"])
    return False
