"""Choose `Settings.common_word_share` on a validation set: what the common-terms rule costs.

    ASSISTANT_EVAL_CACHE=DIR python scripts/common_words_trial.py ../shared/eval/rtqa-2025

A word held by more than the share of the passages only adds to the keyword score of the
passages its question's rarer words found. That keeps a ten-million-passage search from
reading a common word's millions of postings; here it is measured for what it loses. Each
share runs the keyword stage alone and the shipped pipeline over every question, against the
exact search (share 0), with paired 95% intervals. The rule spares only lists longer than
keyword.SHORT_LIST (20,000 postings), which a set of 41k passages never holds: the trial
lifts that floor to see what the share alone would cost. Fits nothing; never run on the
report set.
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from assistant.storage import keyword
from assistant.tools.evaluate import (
    cached_embed,
    measure,
    open_eval_index,
    paired_bootstrap,
    per_question,
    score,
    searched,
    stages,
)

SHARES = (0.0, 0.002, 0.005, 0.01, 0.02, 0.05)
METRICS = ("R@1", "R@5", "R@20", "MRR@10", "MC")


def main(set_dir: Path) -> None:
    keyword.SHORT_LIST = 0
    assistant, _ = open_eval_index(set_dir)
    with open(set_dir / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    embed = cached_embed(assistant.embedder.embed)
    reader, first_stage = searched(assistant)
    shipped = assistant.settings
    for stage in ("keyword", "shipped"):
        base = None
        for share in SHARES:
            settings = replace(stages(shipped)[stage], common_word_share=share)
            runs = measure(reader, embed, questions, settings, (), first_stage)["runs"]
            figures, metrics = score(runs), per_question(runs)
            base = base or metrics
            gaps = "  ".join(f"{m} {figures[m]:.3f} {paired_bootstrap(metrics[m], base[m])}"
                             for m in METRICS)
            print(f"{stage:8} share {share:<5}: {gaps}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
