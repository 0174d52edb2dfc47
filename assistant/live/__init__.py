"""Live news: feeds.py follows RSS and Atom feeds (their state in the index's database,
feedstore.py), fetching.py makes polite, bounded requests, pages.py reads a fetched page into
an article, watching.py ingests the files dropped into a folder.

Imports the leaves, reading and storage. The front door imports it (Assistant.feeds opens
the feed store), so it sits below the front door.
"""
