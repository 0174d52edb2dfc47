"""What reading 128 tokens of a passage costs in recall: a validation set indexed twice, at
the model's own limit (256) and at 128 (`ingest --max-tokens 128`), and the dense, fused and
shipped stages of `assistant eval` asked of both, paired over the questions.

    python scripts/token_limit_trial.py ../shared/eval/rtqa-2025 WORK

WORK keeps the two indexes (eval-256, eval-128), reused by the next run. Measured on
rtqa-2025 (Xeon with AMX, openvino-int8): shipped R@20 0.604 against 0.611, -0.007 [-0.025,
+0.011]; dense alone R@5 -0.034 [-0.058, -0.011] (docs/performance.md).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.config import Settings
from assistant.search.rerank import second_stages
from assistant.tools import evaluate as ev

STAGES = ("dense", "fused", "shipped")


def main(set_dir: Path, work: Path) -> None:
    with open(set_dir / "questions.jsonl", encoding="utf-8") as lines:
        questions = [json.loads(line) for line in lines]
    per = {}
    for tokens in (0, 128):
        assistant, ingest = ev.open_eval_index(set_dir, work / f"eval-{tokens or 256}",
                                               settings=Settings(embed_max_tokens=tokens))
        print(f"{tokens or 256} tokens: ingested {ingest['passages_per_s']} passages/s",
              flush=True)
        reader, first = ev.searched(assistant)
        embed = ev.cached_embed(assistant.embedder.embed)
        for name in STAGES:
            variant = ev.stages(assistant.settings)[name]
            runs = ev.measure(reader, embed, questions, variant, second_stages(variant), first)
            per[tokens, name] = ev.per_question(runs["runs"])
            print(f"  {name}: {({m: round(v, 3) for m, v in ev.score(runs['runs']).items()})}",
                  flush=True)
    for name in STAGES:
        print(f"{name}, 128 minus 256 (mean, 95% paired interval):")
        for metric in ev.INTERVAL_METRICS:
            mean, low, high = ev.paired_bootstrap(per[128, name][metric], per[0, name][metric])
            print(f"  {metric} {mean:+.3f} [{low:+.3f}, {high:+.3f}]")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
