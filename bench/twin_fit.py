"""How well `twin` fits boards whose physics is outside its equation, against the noise floor.

For each bench (xor, parity4, iris), backend (mock:// default, mock:// heldout, spice://)
and unseen board (board seeds from 900), one `twin` run (`wphil.train`, the bench's
settings, a query budget): the probe queries (repeats for the noise floor included), the
fitted parameters of the chosen model, queries per parameter, the held-out probe rms
(cross-validated over the probe queries), the noise floor (from repeated reads), their
ratio, the model chosen, and whether the transferred twin (then the in-loop phase) reached
the bench's target, with the queries it took.

    python bench/twin_fit.py [--boards 3] [--first-board 900] [--benches xor,parity4,iris]
        [--backends default,heldout,spice] [--max-queries 20000]
        [--out bench/results/twin-fit] [--append] [--quick]

`--append` adds the rows to the results already in --out (the stamp then records both
commands), so benches can run in separate processes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from results_stamp import stamp
from script_args import add_quick, at_least, usage_errors

import wphil

BENCHES = {"xor": "xor-2-2-1", "parity4": "parity4", "iris": "iris"}
#: backend name -> (device URL scheme, profile)
BACKENDS = {"default": ("mock://", "default"), "heldout": ("mock://", "heldout"),
            "spice": ("spice://", "default")}
COLUMNS = ("probe_queries", "fitted_parameters", "queries_per_parameter", "heldout_rms_volts",
           "noise_volts", "heldout_over_noise", "model")


def run(bench: str, backend: str, board: int, max_queries: int, tmp: Path) -> dict:
    scheme, profile = BACKENDS[backend]
    out = tmp / f"{bench}-{backend}-{board}"
    training = wphil.train(f"{scheme}?board_seed={board}", BENCHES[bench], algo="twin",
                           profile=profile, out=out, seed=board, max_queries=max_queries)
    for _ in training:
        pass
    summary = training.summary
    return {"bench": bench, "backend": backend, "board_seed": board,
            **{k: summary["twin"][k] for k in COLUMNS}, "candidates": summary["twin"]["candidates"],
            "converged": summary["converged"], "queries": summary["queries"],
            "epochs": summary["epochs"]}


def markdown(rows: list[dict], command: str) -> str:
    lines = ["# twin: held-out probe error against the noise floor", "",
             f"`{command}`", "",
             "| bench | backend | board | probe queries | fitted parameters | queries / parameter "
             "| held-out rms (mV) | noise floor (mV) | ratio | model | twin reached target "
             "(queries) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r['bench']} | {r['backend']} | {r['board_seed']} | {r['probe_queries']} "
                     f"| {r['fitted_parameters']} | {r['queries_per_parameter']:.2f} "
                     f"| {1000 * r['heldout_rms_volts']:.2f} | {1000 * r['noise_volts']:.2f} "
                     f"| {r['heldout_over_noise']:.2f} | {r['model']} "
                     f"| {'yes' if r['converged'] else 'no'} ({r['queries']}) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=at_least(1), default=3)
    parser.add_argument("--first-board", type=at_least(0), default=900)
    parser.add_argument("--benches", default=",".join(BENCHES))
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--max-queries", type=at_least(1), default=20_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "twin-fit")
    parser.add_argument("--append", action="store_true",
                        help="add to the rows already in --out instead of replacing them")
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:
        args.boards, args.benches, args.backends, args.max_queries = 1, "xor", "default", 2000
    benches, backends = args.benches.split(","), args.backends.split(",")
    for name, known in (("bench", BENCHES), ("backend", BACKENDS)):
        unknown = [x for x in (benches if name == "bench" else backends) if x not in known]
        if unknown:
            parser.error(f"unknown {name} {unknown[0]!r}; valid: {', '.join(known)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, usage_errors(parser):
        for bench in benches:
            for backend in backends:
                for board in range(args.first_board, args.first_board + args.boards):
                    rows.append(run(bench, backend, board, args.max_queries, Path(tmp)))
                    r = rows[-1]
                    print(f"{bench:8s} {backend:8s} board {board}: {r['model']:9s} "
                          f"{r['probe_queries']:4d} queries / {r['fitted_parameters']:3d} "
                          f"parameters, held-out {1000 * r['heldout_rms_volts']:.2f} mV = "
                          f"{r['heldout_over_noise']:.2f}x noise; twin "
                          f"{'reached' if r['converged'] else 'missed'} the target in "
                          f"{r['queries']} queries", flush=True)
    if args.quick:
        return
    stamped = stamp()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.append and (args.out / "twin-fit.json").exists():
        before = json.loads((args.out / "twin-fit.json").read_text(encoding="utf-8"))
        rows = before["rows"] + rows
        stamped["command"] = f"{before['command']} && {stamped['command']}"
    (args.out / "twin-fit.json").write_text(json.dumps({**stamped, "rows": rows}, indent=1) + "\n",
                                            encoding="utf-8")
    (args.out / "twin-fit.md").write_text(markdown(rows, stamped["command"]), encoding="utf-8")


if __name__ == "__main__":
    main()
