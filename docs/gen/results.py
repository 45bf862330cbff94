"""Results pages rendered from the committed JSON under bench/results (docs/hooks.py).

A page says `<!-- generated: NAME bench/results/FILE.json -->`; NAME picks the renderer.
Every table is preceded by its stamp: the date, commit, machine and command the file
records (bench/results_stamp.py), or, for files written before they carried one, the date
and commit that added the file to the repository, and the machine marked as not recorded.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from gen.stamps import Problems, load, md_table, num, stamp, stamp_rows

# -- renderers: (data, problems) -> markdown ----------------------------------------------

def convergence(data: dict, problems: Problems) -> str:
    rows = []
    for r in data["rows"]:
        accuracy = [run["accuracy"] for run in r["runs"]]
        target = f"{r['target']:.2f}"
        if r["target_loss"]:
            target += f" (and loss ≤ {r['target_loss']:g})"
        rows.append([r["bench"], r["task"], target, f"{r['converged']}/{r['seeds']}",
                     num(r["median_epochs"]), num(r["median_queries"]),
                     f"{min(accuracy):.3f} / {statistics.median(accuracy):.3f}"])
    return md_table(["bench", "task", "target accuracy", "converged", "median epochs",
                   "median queries", "final accuracy min / median"], rows)


def learn_summary(data: dict, problems: Problems) -> str:
    """Per task and profile: twin, pat, wp against the best peer, and the goal's ratio."""
    summary = {(r["profile"], r["task"], r["rule"]): r for r in data["summary"]}

    def cell(profile: str, task: str, rule: str) -> str:
        r = summary.get((profile, task, rule))
        if not r or r["status"] != "ok":
            return "—"
        median = num(r["queries_median"]) if r["successes"] else "—"
        return f"{median} ({r['successes']}/{r['runs']})"

    rows = []
    for g in (g for g in data["goals"] if g["goal"] == "speed"):
        p, t = g["profile"], g["task"]
        peer = summary.get((p, t, g["peer"])) if g["peer"] else None
        peer_cell = (f"{g['peer']} {num(g['peer_queries'])} ({peer['successes']}/{peer['runs']})"
                     if peer else "—")
        ratio = f"{g['ratio']:.3f} ({g['in_loop']})" if g.get("ratio") is not None else "—"
        rows.append([p, t, cell(p, t, "twin"), cell(p, t, "pat"), cell(p, t, "wp"), peer_cell,
                     ratio + ("" if g["met"] else " **not met**")])
    return md_table(["profile", "task", "twin", "pat", "wp", "best peer",
                   "ratio (best wphil / best peer)"], rows, "---|---|---:|---:|---:|---:|---:")


def learn_report(data: dict, problems: Problems) -> str:
    """The full `wphil bench learn` report, by the code that writes learn.md."""
    from wphil.compare.report import markdown
    text = markdown(data["summary"], data["goals"], data)
    return text.split("\n", 2)[2].replace("### Profile", "#### Profile")


def tuning(data: dict, problems: Problems) -> str:
    """A `wphil bench tune` file: the protocol and every method's choice (no candidates)."""
    from wphil.compare.tuning_report import protocol_lines
    return "\n".join(protocol_lines(data)[2:]) + "\n"


def recurrent_learn(data: dict, problems: Problems) -> str:
    rows = []
    for r in data["summary"]:
        if r["status"] != "ok":
            continue
        median = num(r["queries_median"]) if r["successes"] else "—"
        rows.append([r["profile"], r["task"], r["rule"], f"{r['successes']}/{r['runs']}", median,
                     f"{r['accuracy_median']:.2f}", f"{1000 * r['loss_median'] ** 0.5:.0f} mV"])
    return md_table(["profile", "task", "rule", "reached the target", "median queries (successes)",
                   "final accuracy median", "final RMS error median"], rows,
                  "---|---|---|---:|---:|---:|---:")


def sequence_runs(data: list, problems: Problems) -> str:
    ok = [r for r in data if r["stop_reason"] == "converged"]
    rows = [[r["seed"], r["stop_reason"], num(r["epochs"]), num(r["queries"]),
             f"{100 * r['accuracy']:.0f}%", f"{r['rms_lsb']:.1f}", f"{r['wall_s']:.1f}"]
            for r in data]
    head = (f"`{data[0]['bench']}`, rule `{data[0]['algo']}`, profile `{data[0]['profile']}`, "
            f"`{data[0]['url']}`: **{len(ok)} / {len(data)}** reached the target; median "
            f"queries of those {num(statistics.median(r['queries'] for r in ok)) if ok else '—'}.\n\n")
    return head + md_table(["seed", "stop", "epochs", "queries", "accuracy", "RMS (LSB)", "wall s"],
                         rows)


def rp2040_sequence_runs(data: dict, problems: Problems) -> str:
    """bench/rp2040_recurrent.py: wphil train per seed on the emulated Pico, then a replay."""
    rows, hit = [], 0
    for r in data["rows"]:
        if "error" in r:
            rows.append([r["seed"], "failed"] + ["—"] * 9)
            continue
        s, p = r["summary"], r["replay"]
        hit += s["stop_reason"] == "converged"
        rows.append([r["seed"], s["stop_reason"], num(s["epochs"]), num(s["queries"]),
                     f"{100 * p['accuracy']:.0f}%", f"{p['rms_lsb']:.0f}",
                     f"{p['emulated_us_per_sequence'] / 1000:.2f}", f"{p['period_us']:.1f}",
                     f"{p['overruns']} / {p['max_late_us']}", f"{r['wall_s'] / 60:.0f}",
                     _best(r.get("best"))])
    head = f"**{hit} / {len(rows)}** seeds reached the bench's target.\n\n"
    return head + md_table(["seed", "stop", "epochs", "queries", "accuracy (replay)",
                            "RMS LSB (replay)", "emulated ms per sequence", "step period µs",
                            "overruns / worst late µs", "wall min",
                            "lowest loss V² (epoch, accuracy)"], rows)


def _best(best: dict | None) -> str:
    return "—" if not best else (f"{best['loss']:.3f} ({best['epoch']}, "
                                 f"{100 * best['accuracy']:.0f}%)")


def sequence_speed(data: list, problems: Problems) -> str:
    base = next((r["sequences_per_s"] for r in data if "one per step" in r["mode"]), None)
    rows = [[r["mode"], r["steps"], num(r["sequences_per_s"]), num(r["queries_per_s"]),
             f"{r['sequences_per_s'] / base:.1f}×" if base else "—"] for r in data]
    return md_table(["mode", "steps", "sequences/s", "queries/s", "vs one request per step"], rows)


def reliability(data: list, problems: Problems) -> str:
    rows = [[r["fault"], f"{r['faults']} ({r['unit']})", r["board"], r["seeds"], r["completed"],
             r["identical"], f"{r['median_ratio']:.1f}", f"{r['worst_ratio']:.1f}", r["injected"],
             r["recoveries"]] for r in data]
    return md_table(["fault", "rate", "board", "seeds", "completed", "identical to clean",
                   "wall time / clean: median", "worst", "faults injected", "reconnects"], rows,
                  "---|---|---|---:|---:|---:|---:|---:|---:|---:")


def fuzz(data: dict, problems: Problems) -> str:
    return (f"Seed {data['seed']}: {num(data['frames'])} frames ({data['bytes'] / 1e6:.1f} MB) "
            f"in {data['seconds']:.0f} s, {num(data['replies'])} frames back, "
            f"**{data['crashes']} crashes**, {data['malformed']} malformed (a bad frame or a byte "
            f"outside any frame), {data['internal']} `INTERNAL` errors, "
            f"{data['script_changed']} replies to the fixed script changed.\n")


def calibration(data: dict, problems: Problems) -> str:
    rows = []
    for start, c in data["conditions"].items():
        for label, key in (("none", "without"), ("measured", "with")):
            side = c[key]
            paired = (f"{c['pairs_calibration_fewer_queries']} / "
                      f"{c['pairs_calibration_more_queries']} of {c['pairs']}" if key == "with" else "")
            ratio = f"{c['median_paired_ratio']:.2f}" if key == "with" else ""
            rows.append([start, label, f"{side['converged']}/{side['runs']}",
                         num(side["median_queries"]), f"{side['median_accuracy_at_start']:.2f}",
                         paired, ratio])
    head = (f"{data['bench']}, profile {data['profile']}"
            f"{'' if data['stuck_channel'] else ' without its stuck channel'}"
            f"{', calibrating only the ' + data['channels'] if data.get('channels') else ''}: "
            f"{data['boards']} boards × {data['seeds_per_board']} seeds; the calibration's worst "
            f"error {data['calibration_worst_error_lsb']:.3f} LSB.\n\n")
    return head + md_table(["start", "DAC calibration", "converged", "median queries",
                          "accuracy at start", "paired: fewer / more queries with calibration",
                          "median paired ratio"], rows, "---|---|---:|---:|---:|---:|---:")


def mock_speed(data: list, problems: Problems) -> str:
    rows = [[f"{r['bench']} {'-'.join(map(str, r['layers']))}", f"{r['batch']} x {r['patterns']}",
             num(r["mock_passes_per_s"]), num(r["numpy_passes_per_s"]),
             f"{r['mock_cost_vs_numpy']:.2f}x"] for r in data]
    return md_table(["network", "weight vectors x patterns", "mock passes/s", "numpy passes/s",
                   "mock cost"], rows, "---|---|---:|---:|---:")


def upy_speed(data: dict, problems: Problems) -> str:
    rows = [[r["mode"], r["passes"], num(r["passes_per_s"]), f"{r['vs_one_at_a_time']:.1f}x",
             f"{r['bytes_per_pass']:.1f}"] for r in data["rows"]]
    return md_table(["mode", "passes", "passes/s", "vs one at a time", "bytes on the wire per pass"],
                  rows)


def spice_speed(data: list, problems: Problems) -> str:
    rows = [[r["bench"], r["step_passes"], num(r["mock_single"]), num(r["spice_single"]),
             num(r["mock_step"]), num(r["spice_step"]), f"{r['mock_step'] / r['spice_step']:,.0f}x",
             f"{r['load_average']:g}"] for r in data]
    return md_table(["bench", "passes/step", "mock single", "spice single", "mock step",
                   "spice step", "mock/spice (step)", "load average"], rows)


def spice_xor_boards(data: list, problems: Problems) -> str:
    rules = [k for k in data[0] if k != "board_seed"]
    header = ["board_seed"] + [f"{rule} {what}" for rule in rules
                               for what in ("accuracy", "loss", "queries")]
    rows = []
    for board in data:
        row = [board["board_seed"]]
        for rule in rules:
            r = board[rule]
            row += [f"{100 * r['accuracy']:.0f}%",
                    f"{r['loss']:.4f}" + ("" if r["converged"] else " ✗"), r["queries"]]
        rows.append(row)
    return md_table(header, rows)


def spice_oscillator_boards(data: dict, problems: Problems) -> str:
    rows = [[b["board_seed"], num(b["mock_rms_mv"]), num(b["spice_rms_mv"]), num(b["tuned_rms_mv"]),
             b["epochs"], num(b["wall_s"]), num(b["no_output_offsets_rms_mv"]),
             num(b["no_offsets_rms_mv"])] for b in data["boards"]]
    head = (f"Trained on `mock://` for {data['mock_epochs']} epochs "
            f"({data['training_board_rms_mv']:.0f} mV RMS on its board); on the nominal circuit "
            f"{data['nominal_circuit_rms_mv']:.0f} mV.\n\n")
    return head + md_table(["board", "mock:// board, transferred: RMS (mV)",
                          "spice:// RMS, transferred (mV)", "spice:// after wp-central (mV)",
                          "epochs", "wall s", "AD633 output offsets 0 (mV)",
                          "every offset 0 (mV)"], rows)


def spice_tran(data: dict, problems: Problems) -> str:
    rows = [[r["bench"], f"±{r['weights_within']:.2g}", f"{r['mean_codes']:.1f}",
             f"{r['p95_codes']:.0f}", f"{r['max_codes']:.0f}", f"{r['halved_step_max_mv']:.3f}"]
            for r in data["rows"]]
    return md_table(["bench", "weights within", "mean", "p95", "max", "halved step: max mV"], rows)


def fit_circuit(data: dict, problems: Problems) -> str:
    rows = [[f"`{r['key']}`", f"{r['circuit']:.4g}", f"{r['bench']:.4g}"] for r in data["rows"]]
    text = md_table(["`[sim]` key", f"circuit Monte Carlo ({data['boards']} boards)",
                     f"shipped `{data['bench']}` default"], rows)
    check = data.get("spice_neuron_offsets")
    if check:
        text += (f"\nNeuron offsets measured in ngspice (all weights zero, {check['boards']} "
                 f"boards): σ {check['std_volts']:.2f} V, mean {check['mean_volts']:+.2f} V.\n")
    return text


def rp2040_speed(data: dict, problems: Problems) -> str:
    """bench/bench_rp2040.py: passes against the physical limit; host requests against USB."""
    rows = [[r["bench"], r["mode"], r["emitter"], r["passes"], num(r["cpu_us"]), num(r["i2c_us"]),
             num(r["passes_per_s"]), num(r["limit"]), f"{r['ratio']:.2f}",
             num(r["passes_per_s_1mhz"]), num(r["limit_1mhz"]), f"{r['ratio_1mhz']:.2f}"]
            for r in data["rows"]]
    text = md_table(["bench", "mode", "kernels", "passes", "emulated µs/pass", "I2C µs/pass",
                     "passes/s", "limit passes/s", "ratio", "passes/s at 1 MHz",
                     "limit at 1 MHz", "ratio at 1 MHz"], rows,
                    "---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:")
    host = [[r["bench"], r["mode"], num(r["passes_per_request"]), f"{r['request_ms']:.2f}",
             f"{r['request_ms']:.1f}", f"{r['ratio_rtt_1ms']:.2f}", f"{r['ratio_rtt_2ms']:.2f}"]
            for r in data["rows"] if "request_ms" in r]
    if host:
        text += "\n" + md_table(["bench", "host-driven request", "passes/request",
                                 "ms/request (CPU + I2C)", "request ÷ 1 ms USB round trip",
                                 "ratio to limit, 1 ms round trip",
                                 "ratio to limit, 2 ms round trip"], host,
                                "---|---|---:|---:|---:|---:|---:")
    return text


def rp2040_memory(data: dict, problems: Problems) -> str:
    rows = [[r["bench"], "yes" if r["configured"] else "**no**", r["emitter"], num(r["mem_free"]),
             num(r["mem_free_train"]) if "mem_free_train" in r else "(recurrent: no TRAIN)"]
            for r in data["rows"]]
    return md_table(["bench", "configured", "kernels", "gc.mem_free() after CONFIGURE (bytes)",
                     "with an on-chip TRAIN run set up"], rows, "---|---|---|---:|---:")


#: bench/farm_speed.py's setups: (one bench, the farm) as the table names them
FARM_SETUPS = {
    "standing": ("one standing board", "farm of {n} standing boards"),
    "labgrid": ("one place, `labgrid://bench1`", "farm of {n} places, `labgrid://bench*`"),
    "labgrid-nochardelay": ("one place, `labgrid://bench1` (ser2net `chardelay: false`)",
                            "farm of {n} places, `labgrid://bench*` (`chardelay: false`)"),
    "labgrid-raw": ("one place, `labgrid://bench1` (standing ser2net, raw TCP)",
                    "farm of {n} places, `labgrid://bench*` (standing ser2nets, raw TCP)"),
}
for _setup, (_one, _farm) in list(FARM_SETUPS.items()):    # boards that wait as a circuit does
    FARM_SETUPS[f"{_setup}-paced"] = (f"{_one}, paced boards", f"{_farm}, paced boards")


def farm_speed(data: dict, problems: Problems) -> str:
    """bench/farm_speed.py: the same grid serially, on one bench, on the farm (standing
    boards on ptys, or the lab in a box's labgrid places)."""
    wall = data["wall_s"]
    one, farm = (t.format(n=data["benches"]) for t in FARM_SETUPS[data.get("setup", "standing")])
    rounds = "; ".join(f"{name} {', '.join(map(str, walls))}"
                       for name, walls in data["wall_s_every_round"].items())
    serial = data.get("devices", {}).get("serial", "upy://")
    rows = [[f"`{serial}`, serial (a board process per job)", num(wall["serial"]),
             f"{data['speedup_vs_serial']:.2f}x"],
            [one, num(wall["one-bench"]), f"{data['speedup_vs_one_bench']:.2f}x"],
            [farm, num(wall["farm"]), "—"]]
    paired = ", ".join(f"{s / f:.2f}x" for s, f in zip(data["wall_s_every_round"]["serial"],
                                                      data["wall_s_every_round"]["farm"]))
    loads = (f"; 1 min, as each round started: {data['load_average_every_round']}"
             if "load_average_every_round" in data else "")
    head = (f"`wphil bench learn {data['grid']}`: {data['runs']} runs; identical grid on all "
            f"three: **{'yes' if data['identical'] else 'NO'}**. Best of {data['rounds']} "
            f"interleaved rounds (every round, s: {rounds}; the farm's speedup over serial "
            f"within each round: {paired}); load average before and after: "
            f"{data['load_average_before_after']}{loads}.\n\n")
    return head + md_table(["device", "wall s", "farm speedup"], rows)


def twin_fit(data: dict, problems: Problems) -> str:
    """bench/twin_fit.py: the twin's held-out probe error against the noise floor."""
    rows = [[r["bench"], r["backend"], r["board_seed"], r["probe_queries"], r["fitted_parameters"],
             f"{r['queries_per_parameter']:.2f}", f"{1000 * r['heldout_rms_volts']:.2f}",
             f"{1000 * r['noise_volts']:.2f}",
             f"{r['heldout_over_noise']:.2f}" + ("" if r["heldout_over_noise"] <= 3 else " ✗"),
             r["model"], f"{'yes' if r['converged'] else 'no'} ({num(r['queries'])})"]
            for r in data["rows"]]
    return md_table(["bench", "backend", "board", "probe queries", "fitted parameters",
                     "queries / parameter", "held-out rms (mV)", "noise floor (mV)", "ratio",
                     "model", "twin reached the target (queries)"], rows,
                    "---|---|---:|---:|---:|---:|---:|---:|---:|---|---")


def twin_xor_goal(data: dict, problems: Problems) -> str:
    """bench/twin_xor_goal.py: the tuned twin on xor against the main grids' best peer."""
    rows = [[r["what"], f"{r['successes']}/{r['runs']}",
             f"{num(r['queries_median'])} ({num(r['queries_max'])})",
             f"{r['peer']} ({r['peer_successes']})", num(r["peer_queries_median"]),
             f"{r['ratio']:.3f}", f"{r['ratio_per_channel']:.3f}",
             "met" if r["met"] else "not met",
             f"{r['fit_over_noise_median']:.0f}× ({r['fit_over_noise_range'][0]:.0f}–"
             f"{r['fit_over_noise_range'][1]:.0f}×)", ", ".join(r["models"])]
            for r in data["rows"]]
    return md_table(["grid", "twin success", "twin median queries (max)",
                     "best peer (main grid)", "peer median queries", "ratio per pass",
                     "per channel", "goal 0.1×", "twin's fit: held-out / noise", "models"], rows,
                    "---|---:|---:|---|---:|---:|---:|---|---|---")


RENDERERS: dict[str, Callable[[Any, Problems], str]] = {
    "farm-speed": farm_speed,
    "convergence": convergence, "learn-summary": learn_summary, "learn-report": learn_report,
    "recurrent-learn": recurrent_learn, "sequence-runs": sequence_runs,
    "rp2040-sequence-runs": rp2040_sequence_runs,
    "sequence-speed": sequence_speed, "reliability": reliability, "fuzz": fuzz,
    "calibration": calibration, "mock-speed": mock_speed, "upy-speed": upy_speed,
    "spice-speed": spice_speed, "spice-xor-boards": spice_xor_boards,
    "spice-oscillator-boards": spice_oscillator_boards, "spice-tran": spice_tran,
    "fit-circuit": fit_circuit, "rp2040-speed": rp2040_speed, "rp2040-memory": rp2040_memory,
    "tuning": tuning, "twin-fit": twin_fit, "twin-xor-goal": twin_xor_goal,
}


def _generator(render: Callable[[Any, Problems], str]) -> Callable[..., str]:
    def generate(problems: Problems, argument: str = "") -> str:
        rel, _, command = argument.partition(" ")
        data = load(rel, problems)
        if data is None:
            return f"*(`{rel}` could not be read)*\n"
        try:
            body = render(data, problems)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            problems.append(f"{rel}: not in the form the {render.__name__} table expects: {exc!r}")
            return ""
        return stamp(rel, data, command.strip()) + "\n" + body
    return generate


GENERATORS = {f"results-{name}": _generator(render) for name, render in RENDERERS.items()}


def _rms_range(runs: list[dict]) -> str:
    values = [r["rms_lsb"] for r in runs]
    return f"{min(values):.1f}–{max(values):.1f}" if values else "—"


def _each_file(argument: str, problems: Problems):
    """(path, contents) of each results file in a comma-separated list that loads."""
    for rel in (part.strip() for part in argument.split(",") if part.strip()):
        data = load(rel, problems)
        if data:
            yield rel, data


def sequence_summary(problems: Problems, argument: str = "") -> str:
    """One row per sequence_learning.py results file (comma-separated paths)."""
    sources, rows = [], []
    for rel, data in _each_file(argument, problems):
        sources.append((rel, data))
        ok = [r for r in data if r["stop_reason"] == "converged"]
        failed = "; ".join(f"seed {r['seed']}: {100 * r['accuracy']:.0f}%, RMS "
                           f"{r['rms_lsb']:.0f} LSB ({r['stop_reason']})"
                           for r in data if r["stop_reason"] != "converged")
        median = num(statistics.median(r["queries"] for r in ok)) if ok else "—"
        seeds = f"{min(r['seed'] for r in data)}–{max(r['seed'] for r in data)}"
        rows.append([f"`{data[0]['bench']}`", f"`{data[0]['url']}`", seeds,
                     f"**{len(ok)} / {len(data)}**", median, _rms_range(ok), failed or "—"])
    table = md_table(["bench", "device", "seeds", "reached the target", "median queries of those",
                    "final RMS of those (LSB)", "the others"], rows,
                   "---|---|---|---:|---:|---:|---")
    return stamp_rows(sources) + "\n" + table


GENERATORS["results-sequence-summary"] = sequence_summary


def calibration_only(problems: Problems, argument: str = "") -> str:
    """How close the calibrated lines get: one row per calibration_benefit.py
    --calibration-only file (comma-separated paths)."""
    sources, rows = [], []
    for rel, data in _each_file(argument, problems):
        sources.append((rel, data))
        rows.append([f"{data['bench']}, {data['profile']}",
                     f"{data['dac_bits']}-bit, {100 * data['dac_gain_mismatch']:g}% gain mismatch",
                     f"{data['worst_error_lsb']:.3f} LSB", f"{data['median_board_lsb']:.3f} LSB"])
    table = md_table(["bench, profile", "DAC", "worst error, any board and channel",
                    "median board"], rows, "---|---|---:|---:")
    return stamp_rows(sources) + "\n" + table


GENERATORS["results-calibration-only"] = calibration_only
