"""The neural second stage: a cross-encoder reads the question and a passage together.

It was fine-tuned here from the packaged MiniLM (`assistant train-reranker`) and ships as an
int8 ONNX graph beside its tokenizer in `models/reranker/`, run by onnxruntime on the CPU.
It reads one window of each passage (the title, then about 400 characters around the
sentence that shares most of the question's words): 128 tokens instead of 256 make it four
times cheaper to train and to run, and the answer sits next to the question's words in most
news passages.
"""
from __future__ import annotations

import json
import os
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..embedding.model_files import ModelNotFound
from ..reading.words import sentences, stems

MODEL_DIR = Path(__file__).parents[1] / "models" / "reranker"
MAX_TOKENS = 128
WINDOW_CHARS = 400  # about 90 tokens of news text: what is left beside question and title


def window(question: str, text: str, chars: int = WINDOW_CHARS) -> tuple[int, int]:
    """The span of `text` the cross-encoder reads: `chars` long, starting a little before the
    sentence with most of the question's stems (the first sentence when none has any), cut
    at word bounds.

    Example: window('Who won the chess open?', 'Rain. ' * 200 + 'Osei won the chess open.',
    40) -> a span that holds 'Osei won the chess open.'
    """
    if len(text) <= chars:
        return 0, len(text)
    wanted = {s for _, s in stems(question)}
    found = stems(text)
    best, best_start = -1, 0
    for start, end in sentences(text):
        shared = len({s for at, s in found if start <= at < end} & wanted)
        if shared > best:
            best, best_start = shared, start
    start = max(0, min(best_start - chars // 5, len(text) - chars))
    if start > 0:  # move to the next word bound
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 40 else start
    end = min(len(text), start + chars)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + chars // 2 else end
    return start, end


def pair_text(title: str, text: str, question: str, published: str = "") -> str:
    """What the cross-encoder reads of one passage: '[published] title. window'.

    Example: ('Chess', 'Osei won.', 'who won', '2025-06-14') -> '2025-06-14 Chess. Osei won.'
    """
    start, end = window(question, text)
    read = f"{title.strip()}. {text[start:end]}" if title.strip() else text[start:end]
    return f"{published} {read}" if published else read


def asked(question: str, as_of: str) -> str:
    """The question as a dated model reads it: the date it is asked first, so that the model
    can tell this year's award from the same award two years ago.

    Example: ('Who won?', '2024-01-05') -> '2024-01-05 Who won?'
    """
    return f"{as_of} {question}" if as_of else question


class CrossEncoder:
    """Scores (question, passage) pairs with the shipped int8 graph; higher is better."""

    def __init__(self, folder: Path = MODEL_DIR, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        if not (folder / "model.onnx").is_file():
            raise ModelNotFound(f"no cross-encoder at {folder}; train one with: "
                                f"assistant train-reranker TRAIN_SET... --out {folder}")
        self.folder = folder
        self.info = json.loads((folder / "info.json").read_text())
        calibration = folder / "calibration.json"
        self.calibration = json.loads(calibration.read_text()) if calibration.is_file() else {}
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(self.info.get("max_tokens", MAX_TOKENS)),
                                          strategy="longest_first")
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(folder / "model.onnx"), options,
                                             providers=["CPUExecutionProvider"])

    def pairs(self, question: str, as_of: str | None, passages: list) -> tuple[str, list[str]]:
        """(question, texts) as this model was trained to read them: with the dates of the
        question and of each article when `info.json` says the model is dated."""
        if not self.info.get("dated"):
            return question, [pair_text(p.title, p.text, question) for p in passages]
        as_of = as_of or date.today().isoformat()
        return asked(question, as_of), [pair_text(p.title, p.text, question, p.date)
                                        for p in passages]

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        """One logit a text (texts as `pair_text` makes them); all pairs in one padded batch."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        encodings = self._tokenizer.encode_batch([(question, t) for t in texts])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], types[row, :n], mask[row, :n] = e.ids, e.type_ids, 1
        out = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                       "token_type_ids": types})[0]
        return out.reshape(-1).astype(np.float32)

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        """Platt scaling fitted on the validation set (`calibration.json`): the probability
        that a passage with this combined score answers the question."""
        a, b = self.calibration.get("a", 1.0), self.calibration.get("b", 0.0)
        return 1.0 / (1.0 + np.exp(-(a * np.asarray(logits, dtype=np.float64) + b)))


@lru_cache(maxsize=2)
def load_cross_encoder(folder: str = str(MODEL_DIR)) -> CrossEncoder | None:
    """The shipped cross-encoder, or None when the package holds none."""
    return CrossEncoder(Path(folder)) if (Path(folder) / "model.onnx").is_file() else None


class CrossRanker:
    """Reorders the first stage's top `depth` by the cross-encoder, with the first stage's
    own evidence (its fused score, recency boost included) added at weight `prior`: the
    cross-encoder knows nothing of dates, and news questions mostly ask about recent events.

    The reranked passages get `calibrated(logit + prior * fused share)`, a probability in
    (0, 1) that the passage answers; those below the depth keep their order under them, with
    scores in (-1, 0).
    """

    def __init__(self, model: CrossEncoder, depth: int = 30, prior: float = 1.0):
        self.model, self.depth, self.prior = model, depth, prior

    def __call__(self, store, query, found) -> dict[int, float]:
        ids = list(found.scores)[: self.depth]
        rows = store.passages(ids)
        ids = [i for i in ids if i in rows]
        if not ids:
            return found.scores
        logits = self.model.score(*self.model.pairs(query.question, query.as_of,
                                                    [rows[i] for i in ids]))
        top = max(found.scores[ids[0]], 1e-9)
        combined = logits + self.prior * np.array([found.scores[i] / top for i in ids])
        probability = self.model.calibrated(combined)
        scores = {ids[j]: float(probability[j]) for j in np.argsort(-combined, kind="stable")}
        rest = [i for i in found.scores if i not in scores]
        for rank, i in enumerate(rest):
            scores[i] = -(rank + 1) / (len(rest) + 1)
        return scores
