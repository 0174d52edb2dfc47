"""Past one machine: a collection hash-sharded over ordinary index folders (catalog.py),
read through shard actors (shard.py, collection.py, fanout.py) and written by one writer
(ingest.py); Ray runs the shards, the ingest pipeline and the HTTP replicas when asked.
Nothing here imports Ray unless a Ray option is used."""


def connect(index, ray: str | None = None, settings=None, **options):
    """A sharded collection (`assistant cluster init`), answered as `Assistant` answers one
    index (the same `answer`, `ask`, `ingest`, `delete`, `stats`). ray: its shards as Ray
    actors at this address ("local": start Ray here); None: shards opened in this process.

    >>> a = connect("news", ray="local")
    >>> a.answer("Who won the darts world championship?", as_of="2024-01-05")
    """
    from .front import ClusterAssistant

    return ClusterAssistant(index, settings, ray, **options)
