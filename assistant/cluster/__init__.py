"""Past one machine: a collection hash-sharded over ordinary index folders (catalog.py),
read through shard actors (shard.py, collection.py, fanout.py) and written by one writer
(ingest.py); Ray runs the shards and the ingest pipeline when asked (and the HTTP replicas:
serving/ray_serve.py). Nothing here imports Ray unless a Ray option is used.

Imports the front door (ClusterAssistant is an Assistant) and every layer below it; never
serving, cli or tools.
"""


def connect(index, ray: str | None = None, settings=None, **options):
    """A sharded collection (`assistant cluster init`), answered as `Assistant` answers one
    index (the same `answer`, `ask`, `ingest`, `delete`, `stats`). ray: its shards as Ray
    actors at this address ("local": start Ray here); None: shards opened in this process.

    >>> a = connect("news", ray="local")
    >>> a.answer("Who won the darts world championship?", as_of="2024-01-05")
    """
    from .front import ClusterAssistant

    return ClusterAssistant(index, settings, ray, **options)


def eval_opener(index, ray: str | None = None, rebuild: bool = False):
    """What `assistant eval SET --index COLLECTION [--ray ADDRESS]` opens with: the collection
    (made by `assistant cluster init`; the set's corpus is ingested into it on first use)."""
    from ..errors import BadQuery

    if index is None:
        raise BadQuery("eval over a sharded collection needs --index DIR, made first with: "
                       "assistant cluster init --index DIR --shards S")
    if rebuild:
        raise BadQuery("--rebuild deletes the index folder; for a collection make a fresh one "
                       "with: assistant cluster init --index DIR --shards S")
    return lambda folder, settings: connect(folder, ray, settings)
