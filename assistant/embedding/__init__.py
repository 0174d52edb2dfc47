"""Embedding: texts in, unit vectors out. model_files.py finds the packaged model and makes its
int8 graphs (int8_check.py refuses one whose vectors stray from fp32), embedder.py runs it on
one of three backends, embed_workers.py bounds every call.

Imports only the top-level leaves config, errors and types.
"""
