"""The event classifier: a thin wrapper over a Hugging Face sequence-classification model.

>>> clf = EventClassifier.from_pretrained("checkpoints/default")          # doctest: +SKIP
>>> clf.predict(["Jets struck the town on Sunday."])[0].label             # doctest: +SKIP
'airstrike'

A checkpoint directory is a standard ``save_pretrained`` layout (``config.json`` with ``id2label``/``label2id``,
``model.safetensors``, tokenizer files), so ``transformers.pipeline`` loads it too. What inference needs is stored
once, versioned, in the ``conflict_events`` block of ``config.json``; ``training_config.yaml`` (the
:class:`~model.config.Config` it was trained with), ``training_record.json`` (provenance), ``metrics.json`` and a
``README.md`` model card sit beside it. :mod:`model.checkpoint` describes the format and reads older ones.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from model.card import write_card
from model.checkpoint import (
    CONFIG_FILE,
    METRICS_FILE,
    RECORD_FILE,
    WEIGHTS_FILE,
    Calibration,
    CheckpointError,
    read_settings,
    write_inference_block,
)
from model.config import Config, ConfigError
from model.offline import enable_offline_mode, resolve_model_path

enable_offline_mode()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402

__all__ = [
    "UNCERTAIN",
    "Calibration",
    "CheckpointError",
    "EventClassifier",
    "Prediction",
    "recover_interrupted_save",
]

UNCERTAIN = "uncertain"
TOKENIZER_CHECK_FILE = "tokenizer_check.json"
TOKENIZER_PROBE = "Jets struck the town of Kherson on Sunday; 3,000 protesters marched in Kyiv."
"""A sentence tokenised at save time; its ids are stored in ``tokenizer_check.json`` and compared at load time."""
_PICKLE_WEIGHTS = ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack", "model.ckpt.index")
_CHUNK = 8192
_HF_PROBLEM = {
    "single_label": "single_label_classification",
    "multi_label": "multi_label_classification",
}  # texts tokenised at a time, so memory stays flat for any input size


@dataclass(frozen=True)
class Prediction:
    """The prediction for one input text.

    ``label`` is the most probable label and ``score`` its probability; ``probabilities`` maps every label to its
    probability (in single-label mode they sum to 1; in multi-label mode each is an independent sigmoid);
    ``labels`` lists every predicted label (single-label mode: just ``label``; multi-label mode: every event label
    above its threshold, or the none label). With ``inference.min_confidence`` set, a prediction whose score is
    below it has ``label == "uncertain"``. ``codes`` holds the ACLED/CAMEO/PLOVER codes of ``labels`` when asked for.
    """

    label: str
    score: float
    probabilities: dict[str, float] = field(repr=False)
    labels: tuple[str, ...] = ()
    codes: dict[str, Any] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "label": self.label,
            "score": self.score,
            "labels": list(self.labels),
            "probabilities": dict(self.probabilities),
        }
        if self.codes is not None:
            out["codes"] = self.codes
        return out


class EventClassifier:
    """Classify news sentences into conflict-event labels.

    Build one with :meth:`from_pretrained` (a trained checkpoint directory) or :meth:`from_base` (a new,
    untrained head on the configured base encoder, as training does).
    """

    def __init__(
        self, model: torch.nn.Module | None, tokenizer: Any, config: Config, *, onnx: Any | None = None
    ) -> None:
        if model is None and onnx is None:
            raise ValueError("EventClassifier needs a torch model or an ONNX session")
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.calibration = Calibration()
        self._onnx = onnx
        self.device = _pick_device(config.inference.device) if onnx is None else torch.device("cpu")
        if self.model is not None:
            self.model.to(self.device)
            self.model.eval()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_base(cls, config: Config) -> EventClassifier:
        """A classifier with a freshly initialised head on ``config.model.base_model`` (no network)."""
        base = resolve_model_path(config.model.base_model)
        tokenizer = AutoTokenizer.from_pretrained(base)
        model = AutoModelForSequenceClassification.from_pretrained(
            base,
            num_labels=len(config.model.labels),
            id2label=config.id2label,
            label2id=config.label2id,
            classifier_dropout=config.model.dropout,
            problem_type=_HF_PROBLEM[config.model.problem_type],
            use_safetensors=True,
            trust_remote_code=False,
        )
        return cls(model, tokenizer, config)

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike[str], *, overrides: list[str] | dict[str, Any] | None = None
    ) -> EventClassifier:
        """Load a checkpoint directory written by :meth:`save_pretrained` (or any safetensors HF classifier).

        ``overrides`` changes inference settings only, e.g. ``["inference.batch_size=128"]``.
        Pickle weights and remote code are refused.
        """
        root = Path(path)
        if not root.exists():
            recover_interrupted_save(root)
        if not root.is_dir():
            raise CheckpointError(f"checkpoint directory not found: {root}")
        config_json = root / "config.json"
        if not config_json.is_file():
            raise CheckpointError(f"{config_json}: missing; not a Hugging Face checkpoint directory")
        if not (root / WEIGHTS_FILE).is_file():
            pickled = [name for name in _PICKLE_WEIGHTS if (root / name).exists()]
            if pickled:
                raise CheckpointError(
                    f"{root / pickled[0]}: pickle-based weights are refused (they can run code when loaded); "
                    f"convert the checkpoint to {WEIGHTS_FILE}"
                )
            raise CheckpointError(f"{root / WEIGHTS_FILE}: missing; the checkpoint has no safetensors weights")
        try:
            hf_config = json.loads(config_json.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{config_json}: unreadable ({exc})") from None
        if not isinstance(hf_config, dict):
            raise CheckpointError(f"{config_json}: unreadable (expected a JSON object, got {type(hf_config).__name__})")
        if "auto_map" in hf_config:
            raise CheckpointError(f"{config_json}: asks for custom code (auto_map); remote code is never run")
        architectures = hf_config.get("architectures") or []
        if not any(str(a).endswith("ForSequenceClassification") for a in architectures):
            raise CheckpointError(
                f"{config_json}: architecture {architectures or hf_config.get('model_type')} is not a sequence "
                "classifier; this is a base encoder or another kind of model, not a trained event classifier"
            )
        checkpoint_labels = _labels_from_hf_config(hf_config, config_json)
        config, calibration = read_settings(root, hf_config, checkpoint_labels)
        if overrides:
            updated = config.update(overrides)
            changed = {s for s in ("model", "data", "training") if getattr(updated, s) != getattr(config, s)}
            if changed:
                raise ConfigError(
                    f"only inference settings can be overridden when loading a checkpoint (got {sorted(changed)})"
                )
            config = updated
        try:
            tokenizer = AutoTokenizer.from_pretrained(root)
            if config.inference.backend == "onnx":
                from model.onnx_backend import OnnxLogits

                onnx = OnnxLogits(
                    root,
                    file=config.inference.onnx_file,
                    num_threads=config.inference.num_threads,
                    dynamic_batches=config.inference.onnx_dynamic_batches,
                )
                classifier = cls(None, tokenizer, config, onnx=onnx)
            else:
                model = AutoModelForSequenceClassification.from_pretrained(
                    root, use_safetensors=True, trust_remote_code=False
                )
                classifier = cls(model, tokenizer, config)
        except FileNotFoundError as exc:
            raise CheckpointError(str(exc)) from None
        except Exception as exc:  # safetensors, tokenizers and torch raise their own error types
            culprit = root / WEIGHTS_FILE if "safetensor" in type(exc).__name__.lower() else root
            raise CheckpointError(
                f"{culprit}: could not load the model or tokenizer ({type(exc).__name__}: {exc})"
            ) from None
        _check_tokenizer(tokenizer, hf_config, root)
        classifier.calibration = calibration
        return classifier

    # ------------------------------------------------------------------ saving
    def save_pretrained(
        self,
        path: str | os.PathLike[str],
        *,
        metrics: dict[str, Any] | None = None,
        record: dict[str, Any] | None = None,
    ) -> Path:
        """Write a self-contained checkpoint directory (format :data:`model.checkpoint.FORMAT_VERSION`) atomically
        (a temporary directory renamed into place).

        ``metrics`` (corpus scores) go to ``metrics.json`` and ``record`` (provenance, see
        :func:`model.checkpoint.provenance`) to ``training_record.json``; the model card ``README.md`` is rendered
        from what was written (:func:`model.card.write_card`).

        An interrupted save leaves any previous checkpoint at ``path`` untouched. Replacing a checkpoint takes two
        renames (old one aside, new one in); if the process dies between them, the next load or save of ``path``
        moves the old checkpoint back (:func:`recover_interrupted_save`).
        """
        if self.model is None:
            raise ValueError("an ONNX-backed classifier cannot be saved; save the PyTorch checkpoint it came from")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        recover_interrupted_save(target, clean=("old", "tmp"))
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            self.model.save_pretrained(tmp, safe_serialization=True)
            self.tokenizer.save_pretrained(tmp)
            probe = {
                "text": TOKENIZER_PROBE,
                "input_ids": _probe_ids(self.tokenizer),
                "tokenizer_size": len(self.tokenizer),
            }
            (tmp / TOKENIZER_CHECK_FILE).write_text(json.dumps(probe, indent=2), encoding="utf-8")
            self.config.save(tmp / CONFIG_FILE)
            write_inference_block(tmp, self.config, self.calibration)
            if metrics is not None:
                (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
            if record is not None:
                (tmp / RECORD_FILE).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
            write_card(tmp)
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                old.rmdir()
                target.rename(old)
                tmp.rename(target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    # ------------------------------------------------------------------ inference
    @property
    def labels(self) -> list[str]:
        return list(self.config.model.labels)

    @property
    def multi_label(self) -> bool:
        return self.config.model.problem_type == "multi_label"

    @overload
    def predict(
        self, texts: str, *, batch_size: int | None = ..., progress: bool | None = ..., with_codes: bool = ...
    ) -> Prediction: ...
    @overload
    def predict(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = ...,
        progress: bool | None = ...,
        with_codes: bool = ...,
    ) -> list[Prediction]: ...
    def predict(self, texts, *, batch_size=None, progress=None, with_codes=False):
        """Classify texts. A list in gives a list of :class:`Prediction` out, one per input, in input order;
        a single string gives a single :class:`Prediction`. ``with_codes=True`` adds the ACLED, CAMEO and
        PLOVER codes of the predicted labels.

        >>> clf.predict(["Protesters marched on parliament."])[0].label  # doctest: +SKIP
        'rally'
        """
        single = isinstance(texts, str)
        probs = self.predict_proba([texts] if single else texts, batch_size=batch_size, progress=progress)
        out = [self.decide(row, with_codes=with_codes) for row in probs]
        return out[0] if single else out

    def decide(self, row: np.ndarray, *, with_codes: bool = False, abstain: bool = True) -> Prediction:
        """Turn one row of probabilities into a :class:`Prediction` (thresholds, abstention, codes)."""
        labels = self.labels
        none = self.config.model.none_label
        best = int(row.argmax())
        if self.multi_label:
            thresholds = self.calibration.thresholds
            chosen = [i for i, name in enumerate(labels) if name != none and row[i] >= thresholds.get(name, 0.5)]
            chosen.sort(key=lambda i: -row[i])
            best = chosen[0] if chosen else labels.index(none)
            picked = tuple(labels[i] for i in chosen) or (none,)
            score = float(row[best])
        else:
            picked = (labels[best],)
            score = float(row[best])
        label = labels[best]
        if abstain and score < self.config.inference.min_confidence:
            label, picked = UNCERTAIN, (UNCERTAIN,)
        codes = None
        if with_codes:
            from model.codes import codes_for

            codes = {name: codes_for(name) for name in picked if name != UNCERTAIN}
        return Prediction(
            label=label,
            score=score,
            probabilities={name: float(p) for name, p in zip(labels, row)},
            labels=picked,
            codes=codes,
        )

    def predict_proba(
        self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool | None = None
    ) -> np.ndarray:
        """Return an ``[n, num_labels]`` array of (calibrated) probabilities in the order of :attr:`labels`."""
        return self.probabilities_from_logits(self.predict_logits(texts, batch_size=batch_size, progress=progress))

    def probabilities_from_logits(self, logits: np.ndarray, *, temperature: float | None = None) -> np.ndarray:
        """Softmax (single-label) or sigmoid (multi-label) of ``logits / temperature`` (default: the fitted one)."""
        t = self.calibration.temperature if temperature is None else temperature
        scaled = torch.from_numpy(np.asarray(logits, dtype=np.float32)) / t
        probs = torch.sigmoid(scaled) if self.multi_label else torch.softmax(scaled, dim=-1)
        return probs.numpy()

    @torch.inference_mode()
    def predict_logits(
        self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool | None = None
    ) -> np.ndarray:
        """Raw model outputs ``[n, num_labels]`` (before temperature and softmax/sigmoid)."""
        items = _validate_texts(texts)
        cfg = self.config.inference
        batch_size = batch_size or cfg.batch_size
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        result = np.zeros((len(items), len(self.labels)), dtype=np.float32)
        show = progress if progress is not None else len(items) >= cfg.progress_min_items
        truncated = 0
        with tqdm(total=len(items), desc="classifying", unit="text", disable=not show) as bar:
            for start in range(0, len(items), _CHUNK):
                chunk = items[start : start + _CHUNK]
                encoded = self.tokenizer(chunk, truncation=True, max_length=self.config.model.max_length)
                ids = encoded["input_ids"]
                truncated += sum(len(x) >= self.config.model.max_length for x in ids)
                order = sorted(range(len(chunk)), key=lambda i: len(ids[i])) if cfg.sort_by_length else None
                for batch in _batches(order or list(range(len(chunk))), batch_size):
                    features = [{k: encoded[k][i] for k in encoded.keys()} for i in batch]
                    inputs = self.tokenizer.pad(features, return_tensors="pt")
                    result[[start + i for i in batch]] = self._logits(inputs).cpu().numpy()
                    bar.update(len(batch))
        if truncated:
            warnings.warn(
                f"{truncated} of {len(items)} texts exceed model.max_length={self.config.model.max_length} tokens "
                "and were truncated; split long documents into sentences (model.documents.split_sentences)",
                stacklevel=3,
            )
        return result

    def _logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        if self._onnx is not None:
            return torch.from_numpy(self._onnx(inputs)).float()
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        return self.model(**inputs).logits.float()

    @property
    def backend(self) -> str:
        return "onnx" if self._onnx is not None else "torch"

    def __repr__(self) -> str:
        return f"EventClassifier(labels={self.labels}, backend={self.backend}, device={self.device})"


# ---------------------------------------------------------------------- helpers
_SURROGATE = re.compile("[\ud800-\udfff]")


def _validate_texts(texts: Any) -> list[str]:
    if isinstance(texts, (str, bytes, dict)) or not hasattr(texts, "__iter__"):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    items = list(texts)
    replaced = []
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, not a string")
        if not text.strip():
            raise ValueError(f"texts[{i}] is empty or whitespace; there is nothing to classify")
        if _SURROGATE.search(text):  # not Unicode text (e.g. bytes read with errors="surrogateescape")
            items[i] = _SURROGATE.sub("\ufffd", text)
            replaced.append(i)
    if replaced:
        shown = ", ".join(f"texts[{i}]" for i in replaced[:5]) + (" …" if len(replaced) > 5 else "")
        warnings.warn(
            f"{len(replaced)} text(s) hold lone surrogate code points, which are not valid Unicode (often bytes that "
            f"could not be decoded): {shown}; each was replaced with U+FFFD before classifying",
            UnicodeWarning,
            stacklevel=4,
        )
    return items


def _batches(indices: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(indices), size):
        yield indices[i : i + size]


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but no GPU is visible")
    return torch.device(name)


def recover_interrupted_save(target: str | os.PathLike[str], *, clean: Sequence[str] = ()) -> list[str]:
    """Repair what a killed :meth:`EventClassifier.save_pretrained` (or training run) left next to ``target``.

    If ``target`` is missing but a previous checkpoint was moved aside (``.<name>.old-*``, the process died between
    the two renames of a save), it is moved back. ``clean`` names the leftovers to delete afterwards: ``"old"``
    (superseded checkpoints), ``"tmp"`` (half-written saves; both before each save) and ``"eval"`` (evaluation
    reports being staged; before each training run). Returns a description of each action (also a warning).
    """
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return []
    actions: list[str] = []

    def leftovers(kind: str) -> list[Path]:
        found = [p for p in parent.glob(f".{glob.escape(target.name)}.{kind}-*") if p.is_dir()]
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)

    if not target.exists():
        for old in leftovers("old"):
            if (old / "config.json").is_file() and (old / WEIGHTS_FILE).is_file():
                try:
                    old.rename(target)
                except OSError as exc:
                    if target.is_dir():  # a save running at the same time has just put its checkpoint in place
                        break
                    raise CheckpointError(
                        f"{target}: an interrupted save left the previous checkpoint in {old}, and it could not be "
                        f"moved back ({exc}); rename it to {target.name} by hand"
                    ) from None
                actions.append(f"restored {target} from {old.name} (a save was interrupted between its two renames)")
                break
    for kind in clean:
        if kind in ("old", "tmp", "eval"):
            for leftover in leftovers(kind):
                shutil.rmtree(leftover, ignore_errors=True)
                actions.append(f"removed {leftover.name} left by an interrupted save or training run")
    for action in actions:
        warnings.warn(action, stacklevel=3)
    return actions


def _labels_from_hf_config(hf_config: dict[str, Any], config_json: Path) -> list[str]:
    """The labels of ``id2label``, in id order; ids must be the integers 0..n-1 and labels non-empty strings."""
    raw = hf_config.get("id2label") or {}
    if not isinstance(raw, dict):
        raise CheckpointError(f"{config_json}: id2label must be a mapping of id to label, got {type(raw).__name__}")
    id2label: dict[int, str] = {}
    for key, value in raw.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise CheckpointError(f"{config_json}: id2label key {key!r} is not an integer id") from None
        if not isinstance(value, str) or not value.strip():
            raise CheckpointError(f"{config_json}: id2label[{key!r}] = {value!r} is not a label name")
        id2label[index] = value
    if id2label and sorted(id2label) != list(range(len(id2label))):
        raise CheckpointError(f"{config_json}: id2label ids {sorted(id2label)} are not 0..{len(id2label) - 1}")
    return [id2label[i] for i in sorted(id2label)]


def _probe_ids(tokenizer: Any) -> list[int]:
    return [int(i) for i in tokenizer(TOKENIZER_PROBE)["input_ids"]]


def _check_tokenizer(tokenizer: Any, hf_config: dict[str, Any], root: Path) -> None:
    """Refuse a tokenizer that does not belong to the model (missing or swapped tokenizer files give garbage).

    The tokenizer's size must not exceed the embedding rows of ``config.json``; a known sentence must tokenise
    to the ids stored at save time in ``tokenizer_check.json`` (checkpoints without it: it must not come out
    mostly as the unknown token)."""
    size = len(tokenizer)
    vocab = hf_config.get("vocab_size")
    hint = "the tokenizer files are missing, changed or from another model; restore them from the training run"
    if isinstance(vocab, int) and size > vocab:
        raise CheckpointError(
            f"{root}: the tokenizer does not match the model: it has {size} tokens but the model has {vocab} embedding rows "
            f"(config.json vocab_size); {hint}"
        )
    ids = _probe_ids(tokenizer)
    check_file = root / TOKENIZER_CHECK_FILE
    if check_file.is_file():
        try:
            stored = json.loads(check_file.read_text(encoding="utf-8"))
            expected = [int(i) for i in stored["input_ids"]]
            text = str(stored["text"])
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise CheckpointError(f"{check_file}: unreadable ({exc})") from None
        got = [int(i) for i in tokenizer(text)["input_ids"]]
        if got != expected or (isinstance(vocab, int) and size != vocab):
            raise CheckpointError(
                f"{root}: the tokenizer does not match the model: {text!r} tokenises to {got[:12]}… "
                f"(expected {expected[:12]}…, stored in {TOKENIZER_CHECK_FILE}; tokenizer size {size}, model "
                f"vocab_size {vocab}); {hint}"
            )
        return
    unk = getattr(tokenizer, "unk_token_id", None)
    special = set(getattr(tokenizer, "all_special_ids", []) or []) - {unk}
    words = [i for i in ids if i not in special]
    if unk is not None and words and sum(i == unk for i in words) * 2 >= len(words):
        raise CheckpointError(
            f"{root}: the tokenizer does not match the model: it reads the English test sentence {TOKENIZER_PROBE!r} as mostly unknown tokens "
            f"(tokenizer size {size}, model vocab_size {vocab}); {hint}"
        )
