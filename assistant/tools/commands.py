"""The tools' commands on `assistant`'s command line (train-ranker, train-reranker, tune,
bench): their arguments here, each tool imported only when its command runs, so the command
line stays quick to start and the runtime never loads them."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_tool_commands(sub, common: argparse.ArgumentParser) -> None:
    """The tools' subcommands, on `cli.build_parser`'s subparsers."""
    p = sub.add_parser("train-ranker", parents=[common],
                       help="train the learned ranker on a set (rtqa-2024; never the test set)")
    p.add_argument("set_dir", type=Path)
    p.add_argument("--out", type=Path, required=True,
                   help="model file to write; to ship it, copy it over assistant/models/ranker.txt "
                        "in a checkout (the file the package loads) and commit it")
    p.add_argument("--depth", type=int, default=100)

    p = sub.add_parser("train-reranker", parents=[common],
                       help="fine-tune the cross-encoder on training sets; resumes; seeded")
    p.add_argument("train_sets", type=Path, nargs="+")
    p.add_argument("--validate", type=Path,
                   help="a validation set: fit the calibration there and print its figures")
    p.add_argument("--work", type=Path, default=Path.home() / ".cache" / "news-assistant"
                   / "train-reranker", help="mined groups and checkpoints (resumed from)")
    p.add_argument("--out", type=Path, required=True,
                   help="model folder to write; to ship it, replace assistant/models/reranker/ "
                        "in a checkout (the folder the package loads) with it and commit it")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=7)

    p = sub.add_parser("tune", parents=[common],
                       help="grid-search fusion and recency settings on a training set")
    p.add_argument("set_dir", type=Path)

    p = sub.add_parser("bench", add_help=False,
                       help="speed and scale benchmark (assistant bench --help)")
    p.add_argument("args", nargs=argparse.REMAINDER)


def cmd_train_ranker(args) -> int:
    from .train_ranker import train

    print(json.dumps(train(args.set_dir, args.out, args.depth, index=args.index),
                     indent=2))
    return 0


def cmd_train_reranker(args) -> int:
    from .train_reranker import calibrate, train, validate

    report = train(args.train_sets, args.work, args.out, epochs=args.epochs, seed=args.seed,
                   log=lambda line: print(line, file=sys.stderr, flush=True))
    if args.validate:
        report["calibration"] = calibrate(args.validate, args.out)
        report["validation"] = validate(args.validate, args.out)
    print(json.dumps(report, indent=2))
    return 0


def cmd_tune(args) -> int:
    from .tune import tune

    result = tune(args.set_dir, args.index)
    keys = list(result["rows"][0])
    print("| " + " | ".join(keys) + " |\n" + "|---" * len(keys) + "|")
    for row in result["rows"]:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    print(f"best on {result['set']} ({result['questions']} questions): {result['best']}")
    return 0


TOOL_COMMANDS = {"train-ranker": cmd_train_ranker, "train-reranker": cmd_train_reranker,
                 "tune": cmd_tune}
