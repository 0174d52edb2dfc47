"""Answering: passages in, an answer out. answer.py composes the lead sentence, confidence and
highlighting; lead.py and answer_type.py are the learned lead scorer; conversation.py reads a
follow-up question with the turn before it.

Imports the leaves, reading (words) and search (dates).
"""
