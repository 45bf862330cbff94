"""The physical limit of an on-chip training pass on each shipped feed-forward bench.

    python bench/pass_limits.py [--json bench/results/onchip-limit.json]
                                [--md bench/results/onchip-limit.md] [--quick]

Independent of the firmware: I2C of only the DAC channels that change (MCP4728 Fast Write or
Multi-Write, whichever is shorter), the circuit's settle time and the ADC time, one after the
other (host/compare/limits.py says where each figure comes from). At the bench's bus speed,
400 kHz and 1 MHz. bench/bench_rp2040.py prints the measured rates against these.
"""

from __future__ import annotations

import json

from results_stamp import stamp
from script_args import table_parser

from wphil.compare.limits import limit_rows, pass_limit
from wphil.drivers import load_bench

BENCHES = ("xor-2-2-1", "xor-2-2-1-ads1115", "iris", "parity4")


def table(names: tuple[str, ...]) -> list[dict]:
    rows = []
    for name in names:
        bench = load_bench(name)
        limit = pass_limit(bench)
        for row in limit_rows(bench):
            rows.append({"bench": name, "adc": bench.adc.kind, "bus_clocks": limit.bus_clocks,
                         **row})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| bench | ADC | I2C | I2C us | settle us | ADC us | us per pass | passes/s |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['bench']} | {r['adc']} | {r['i2c_hz'] / 1e3:g} kHz | "
                     f"{r['i2c_us']:.0f} | {r['settle_us']:.0f} | {r['adc_us']:.0f} | "
                     f"{r['pass_us']:.0f} | {r['passes_per_s']:,.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = table_parser(__doc__)
    args = parser.parse_args()
    rows = table(BENCHES[:1] if args.quick else BENCHES)
    text = markdown(rows)
    print(text, end="")
    made = stamp()
    if args.json:
        args.json.write_text(json.dumps({"stamp": made, "rows": rows}, indent=1) + "\n")
    if args.md:
        args.md.write_text(f"<!-- {made['command']} ({made['commit']}, {made['date']}) -->\n"
                           + text)


if __name__ == "__main__":
    main()
