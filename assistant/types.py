"""The values that travel between modules: articles in, passages with citations out."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Article:
    """One news article as read from a file, before chunking."""

    id: str
    title: str
    date: str  # ISO YYYY-MM-DD
    text: str
    url: str = ""
    source: str = ""


@dataclass(frozen=True)
class Passage:
    """A span of one article that answers a question, with everything needed to cite it.

    `text` is always `article.text[start:end]`, so a reader can check the citation.
    """

    text: str
    title: str
    url: str
    source: str
    date: str
    article_id: str
    seq: int = 0
    start: int = 0
    end: int = 0
    score: float = 0.0
    also_in: tuple[str, ...] = field(default=())  # other outlets that carried the same text
    # The same article's other passages among the results, folded under this card
    # (`Settings.per_article`): a few cards an article, the rest one click away.
    more: tuple[Passage, ...] = field(default=())

    @property
    def citation(self) -> str:
        """Example: 'Darts final (bbc.co.uk, 2024-01-03) https://bbc.co.uk/x'."""
        where = ", ".join(x for x in (self.source, self.date) if x)
        cite = f"{self.title} ({where})" if where else self.title
        if self.also_in:
            cite += f" [also in: {', '.join(self.also_in)}]"
        return f"{cite} {self.url}".strip()

    def to_dict(self) -> dict:
        out = asdict(self)
        out["also_in"] = list(self.also_in)
        out["more"] = [p.to_dict() for p in self.more]
        out["citation"] = self.citation
        return out


@dataclass(frozen=True)
class Problem:
    """Why one input could not be read: shown to the user with file and line."""

    path: str
    line: int  # 0 when the whole file is at fault
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class IngestReport:
    """Counts of one ingest run; `skipped` keeps the reasons."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    passages: int = 0
    reused: int = 0  # of those, kept their stored vector (an updated article's kept words)
    seconds: float = 0.0
    skipped: list[Problem] = field(default_factory=list)

    @property
    def read(self) -> int:
        return self.added + self.updated + self.unchanged

    def summary(self) -> str:
        return (f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
                f"skipped {len(self.skipped)}; {self.passages} passages in {self.seconds:.1f}s"
                + (f" ({self.reused} kept their vectors)" if self.reused else ""))

    def to_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": [str(p) for p in self.skipped], "passages": self.passages,
                "reused": self.reused, "seconds": round(self.seconds, 3)}
