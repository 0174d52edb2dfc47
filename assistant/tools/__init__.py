"""Tools around the product, never imported by it: benchmarks, the load test, generated data
for scale runs, tuning and training. The runtime (`assistant.Assistant` and its edges) works
without this subpackage; `tests/test_imports.py` holds that line."""
