"""The command line, `assistant` (and `python -m assistant`): main.py builds the parser and runs
each command, live.py adds follow, feeds and watch.

Imports every layer below it, and the tools only as the commands that run them (bench, eval,
tune, train-ranker, train-reranker), each imported when its command runs.
"""
