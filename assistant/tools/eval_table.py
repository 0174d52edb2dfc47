"""`assistant eval`'s result as the table it prints: each stage's figures, the paired
intervals against the two references, then the answers, latency and ingest in words."""
from __future__ import annotations

# The metrics whose paired intervals evaluate.run_eval computes and the table shows.
INTERVAL_METRICS = ("R@1", "R@5", "R@20", "MRR@10", "MC")


def format_table(result: dict) -> str:
    """A `run_eval` result as text: the stages, the paired intervals, then a line each for
    the answers, latency, ingest and passages after the as-of date."""
    cols = ["R@1", "R@5", "R@10", "R@20", "MRR@10", "MC", "p50_ms", "p95_ms"]
    lines = [f"{result['set']}: {result['questions']} questions, index {result['index']}",
             "| stage | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in result["stages"].items():
        lines.append(f"| {name} | " + " | ".join(str(row[c]) for c in cols) + " |")
    lines += ["", "Paired bootstrap, 95% interval of the difference over questions:",
              "| stage | vs | " + " | ".join(INTERVAL_METRICS) + " |",
              "|---|---|" + "---|" * len(INTERVAL_METRICS)]
    for name, refs in result["intervals"].items():
        for ref, diffs in refs.items():
            cells = [f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in
                     (diffs[m] for m in INTERVAL_METRICS)]
            lines.append(f"| {name} | {ref} | " + " | ".join(cells) + " |")
    ans, ing, e2e = result["answers"], result["ingest"], result["end_to_end"]
    lines.append("")
    lines.append(f"lead hit rate: {ans['lead_hit_rate']} (ceiling, card [1] holds an answer: "
                 f"{ans.get('lead_ceiling')}); abstains on "
                 f"{ans['abstains_unanswerable']} of unanswerable copies and on "
                 f"{ans['abstains_answerable']} of questions as asked")
    lines.append(f"end to end (question embedding and lead included): p50 {e2e['p50_ms']} ms, "
                 f"p95 {e2e['p95_ms']} ms")
    lines.append(f"ingest: {ing['articles']} articles, {ing['passages']} passages in "
                 f"{ing['seconds']} s ({ing['articles_per_s']} articles/s, "
                 f"{ing['passages_per_s']} passages/s)")
    lines.append(f"passages dated after the as-of date: {result['passages_after_as_of']}")
    return "\n".join(lines)
