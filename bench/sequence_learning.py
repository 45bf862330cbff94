"""Must-show runs for recurrent benches: `wp` (or any rule) over several seeds on one device
URL, with the success count, queries and the final RMS error in ADC codes (LSB).

    python bench/sequence_learning.py --bench delayed-xor --url "upy://?seed={seed}" \
        [--seeds 10] [--first-seed 0] [--algo RULE] [--profile default] [--jobs 2]
        [--max-queries N] [--json FILE] [--quick]

Each seed trains from its own initial weights (`--seed`), on `URL` with `{seed}` replaced by
100 + seed (the read-noise seed, as `wphil bench learn` does), to the bench's targets or its
epoch limit or `--max-queries`. The RMS error is over the scored samples of the last evaluation.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor

from script_args import add_quick, at_least, usage_errors

from wphil.drivers import load_bench, open_device
from wphil.learning import TrainConfig, load_task, make_trainer


def run(bench_name: str, url: str, algo: str, profile: str, seed: int, max_queries: int) -> dict:
    bench = load_bench(bench_name, profile)
    config = TrainConfig.for_bench(bench, algo=algo, seed=seed, max_queries=max_queries)
    start = time.perf_counter()
    with open_device(url.format(seed=100 + seed), bench) as device:
        trainer = make_trainer(device, bench, load_task(bench.bench.task), config)
        for _ in trainer.run():
            pass
        timing = dict(device.sequence_timing)
    st = trainer.state
    lsb = bench.adc.vref / (1 << bench.adc.bits)
    return {"bench": bench_name, "url": url, "algo": config.algo, "profile": profile, "seed": seed,
            "stop_reason": trainer.stop_reason, "epochs": st.epoch, "queries": st.queries,
            "loss": st.loss, "accuracy": st.accuracy, "rms_lsb": math.sqrt(st.loss) / lsb,
            "wall_s": time.perf_counter() - start, "timing": timing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", help="a recurrent bench (--quick: delayed-xor)")
    parser.add_argument("--url", default="mock://?seed={seed}")
    parser.add_argument("--algo", help="learning rule (default: the bench's)")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--seeds", type=at_least(1), default=10)
    parser.add_argument("--first-seed", type=at_least(0), default=0,
                        help="seeds FIRST .. FIRST+SEEDS-1")
    parser.add_argument("--jobs", type=at_least(1), default=1)
    parser.add_argument("--max-queries", type=at_least(0), default=0,
                        help="budget per run (0: none)")
    parser.add_argument("--json")
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:                      # one seed, a budget of a few epochs
        args.bench, args.seeds, args.max_queries = args.bench or "delayed-xor", 1, 2000
    if not args.bench:
        parser.error("the following arguments are required: --bench")
    with usage_errors(parser):          # a bad bench, profile or URL: before any run starts
        with open_device(args.url.format(seed=100 + args.first_seed),
                         load_bench(args.bench, args.profile)):
            pass
    jobs = [(args.bench, args.url, args.algo, args.profile, s, args.max_queries)
            for s in range(args.first_seed, args.first_seed + args.seeds)]
    rows = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for r in pool.map(run, *zip(*jobs)):      # in seed order, each as soon as it is done
            rows.append(r)
            print(f"seed {r['seed']}: {r['stop_reason']:<10} epochs {r['epochs']:>5} queries "
                  f"{r['queries']:>9,} accuracy {r['accuracy']:.3f} RMS {r['rms_lsb']:6.1f} LSB "
                  f"({r['wall_s']:.0f} s; period {r['timing'].get('period_us', 0):.0f} us, "
                  f"{r['timing'].get('overruns', 0)} overruns in the last request)", flush=True)
    done = [r for r in rows if r["stop_reason"] == "converged"]
    queries = sorted(r["queries"] for r in done)
    print(f"{args.bench} {rows[0]['algo']} on {args.url} ({args.profile}): {len(done)}/{len(rows)} "
          f"converged; median queries {queries[len(queries) // 2] if queries else '-'}; "
          f"worst RMS of the converged {max((r['rms_lsb'] for r in done), default=math.nan):.1f} LSB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
