"""bench learn's summary: a failed run counts as the whole budget in the second median, and
the speed goal asks for half the best peer's queries at an equal or better success rate."""

from __future__ import annotations

from wphil.compare import goals, summarize


def _run(rule, kind, seed, queries, converged, budget=1000):
    return {"profile": "default", "task": "xor", "rule": rule, "kind": kind, "seed": seed,
            "status": "ok", "queries": queries if converged else budget, "converged": converged,
            "accuracy": 1.0 if converged else 0.5, "wall_s": 0.1, "max_queries": budget}


def test_failures_count_as_the_whole_budget_in_the_second_median() -> None:
    runs = [_run("wp", "in-loop", s, q, ok) for s, (q, ok) in
            enumerate([(100, True), (120, True), (0, False)])]
    row = summarize(runs)[0]
    assert row["queries_median"] == 110                      # successes only
    assert row["queries_median_failures_at_budget"] == 120   # 100, 120, 1000


def test_speed_goal_needs_half_the_best_peers_queries() -> None:
    def grid(pat_queries):
        return ([_run("pat", "in-loop", s, pat_queries, True) for s in range(2)]
                + [_run("cma-es", "peer", s, 400, True) for s in range(2)])
    assert goals(summarize(grid(200)))[0]["met"]
    assert not goals(summarize(grid(201)))[0]["met"]
