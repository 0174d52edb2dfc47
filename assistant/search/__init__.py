"""Search: a question in, ranked passages out. retrieve.py runs the first stage (as-of mask,
dense and keyword candidates, fusion.py, the recency boost read with dates.py), rerank.py the
second stages (the LightGBM ranker, cross_encoder.py); stages.py times them for benchmarks.

Imports the leaves, reading (words), embedding (the cross-encoder's model files) and storage
(the view a search reads).
"""
