"""Tools around the product, never imported by it: evaluation (`assistant eval`), benchmarks
(cluster_bench.py for `bench --ray`), the load test, generated data for scale runs, tuning,
training and the CLI reference. The runtime (`assistant.Assistant` and its edges) works
without this subpackage; `tests/test_imports.py` holds that line.

Tools may import any module of the package; only the command line imports tools.
"""
