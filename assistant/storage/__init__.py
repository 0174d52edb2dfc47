"""Storage: the index folder. rows.py keeps the articles and passages in SQLite; dense.py,
keyword.py and bm25_segment.py are the search structures (postings.py: the sums and top k
keyword.py's pruned search is made of), written per generation by
generations.py and read through view.py; store.py joins rows and generations in one commit;
check.py verifies an index and repairs it; reads.py reads one without writing (for Ray
tasks and rebuilds); faults.py names the crash points tests kill at.

Imports the leaves and reading. One arrow up, named in tests/test_imports.py: check.py's
repair rebuilds an index by ingesting its stored articles through the front door.
"""
