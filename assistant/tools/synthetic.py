"""Generated collections for the scale benchmark: clustered vectors, and articles whose text
has the shape BM25 meets in news (Zipf-distributed words, a few rare words per story).

Uniform random vectors have no near neighbours, and uniform random words make every term
equally rare: neither would show what an index does with real news at a million passages.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

PASSAGES_PER_STORY = 100  # one topic (vector centre and rare words) per this many passages
SYLLABLES = ("ba ce di fo gu ha ke li mo nu pa qui ro sa te vu wa xe yo zu bra cli dro fre "
             "gla ple stu tri").split()


def centres(size: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """One unit vector a story: real embeddings cluster by story."""
    rows = np.random.default_rng(seed).standard_normal((max(1, size // PASSAGES_PER_STORY), dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def near(centres: np.ndarray, n: int, seed: int, topics: np.ndarray | None = None) -> np.ndarray:
    """n unit vectors near the given (else random) centres, cosine about 0.7 to them."""
    rng = np.random.default_rng(seed)
    dim = centres.shape[1]
    if topics is None:
        topics = rng.integers(0, len(centres), n)
    rows = centres[topics] + rng.standard_normal((n, dim), dtype=np.float32) / np.sqrt(dim)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@dataclass
class Collection:
    """`size` passages in articles of `per_article`, one story a PASSAGES_PER_STORY, dated
    evenly over two years in id order (so an as-of date leaves a prefix of the ids)."""

    size: int
    per_article: int = 10
    words_per_passage: int = 80
    seed: int = 0

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        lengths, picks = rng.integers(2, 5, 60_000), rng.integers(0, len(SYLLABLES), (60_000, 4))
        words = {"".join(SYLLABLES[i] for i in row[:n])
                 for row, n in zip(picks.tolist(), lengths.tolist())}
        self.vocab = np.array(sorted(words))
        weights = 1 / np.arange(1, len(self.vocab) + 1)
        self.cdf = np.cumsum(weights / weights.sum())  # Zipf's law, drawn by inversion
        self.words = self.vocab.tolist()
        self.centres = centres(self.size, seed=self.seed)
        self.stories = len(self.centres)
        self.articles = -(-self.size // self.per_article)

    def story(self, article: int) -> int:
        return article * self.per_article // PASSAGES_PER_STORY % self.stories

    def story_words(self, story: int) -> list[str]:
        """Three rare words that name a story, as names and places do in news."""
        rng = np.random.default_rng((self.seed, story))
        return [str(w) for w in rng.choice(self.vocab[len(self.vocab) // 2:], 3)]

    def day(self, article: int) -> str:
        return (date(2022, 1, 1) + timedelta(days=730 * article // self.articles)).isoformat()

    def puts(self, first: int, count: int):
        """Store `Put`s for articles first .. first + count, with their vectors."""
        from ..storage.store import Put
        from ..types import Article

        rng = np.random.default_rng((self.seed, first))
        articles = range(first, min(first + count, self.articles))
        sizes = [min(self.per_article, self.size - a * self.per_article) for a in articles]
        # The whole batch's words in one draw (a Zipf draw per article cost 60 s a 100k
        # passages), and its vectors in one more.
        drawn = np.searchsorted(self.cdf, rng.random((sum(sizes), self.words_per_passage)))
        drawn = np.minimum(drawn, len(self.words) - 1).tolist()
        stories = np.repeat([self.story(a) for a in articles], sizes)
        vectors = near(self.centres, len(stories), first + 1, stories)
        out, row = [], 0
        for article, n in zip(articles, sizes):
            story = self.story(article)
            names = self.story_words(story)
            paragraphs = [" ".join(names[:2] + [self.words[w] for w in drawn[row + i]] + names[2:])
                          for i in range(n)]
            text = "\n\n".join(paragraphs)
            spans, start = [], 0
            for paragraph in paragraphs:
                spans.append((start, start + len(paragraph)))
                start += len(paragraph) + 2
            out.append(Put(Article(f"syn-{article}", f"Story {story} part {article}",
                                   self.day(article), text, f"https://synthetic.example/{article}",
                                   f"outlet{article % 7}.example"),
                           f"h{article}", spans, vectors[row:row + n]))
            row += n
        return out

    def questions(self, n: int, seed: int = 1):
        """(question text, vector, as-of date, story) for n stories, asked after they ran."""
        rng = np.random.default_rng(seed)
        out = []
        for article in rng.integers(0, self.articles, n):
            story = self.story(article)
            later = int(rng.integers(article, self.articles))
            common = self.vocab[rng.choice(200, 2)]
            text = f"What happened with {' '.join(self.story_words(story)[:2])} and {' '.join(common)}?"
            out.append((text, near(self.centres, 1, int(article), np.array([story]))[0],
                        self.day(later), story))
        return out
