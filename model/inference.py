"""Module-level entry points: ``predict`` and ``extract_events`` with a cached default model."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from model.classifier import CheckpointError, EventClassifier, Prediction
from model.documents import Sentence, iter_sentences, split_sentences
from model.output import article_row, sentence_row

__all__ = [
    "DEFAULT_CHECKPOINT",
    "DEFAULT_CHECKPOINT_ENV",
    "DocumentError",
    "decode_text",
    "default_checkpoint",
    "extract_events",
    "iter_documents",
    "load",
    "predict",
    "stream_events",
]

DEFAULT_CHECKPOINT_ENV = "EVENT_CLASSIFIER_MODEL"


class DocumentError(ValueError):
    """A document that could not be read; :func:`iter_documents` yields it in place of the text with
    ``errors="row"``, and :func:`stream_events` turns it into one row with ``error`` set."""


DEFAULT_CHECKPOINT = Path("checkpoints") / "default"
NO_MODEL_HINT = (
    "pass a checkpoint directory (model=... in Python, --checkpoint on the command line), set "
    f"${DEFAULT_CHECKPOINT_ENV} to one, or train one with `cec-train --config default "
    "data.train_file=<your.jsonl> training.output_dir=checkpoints/default`"
)


def default_checkpoint() -> Path:
    """The checkpoint used when none is given: ``$EVENT_CLASSIFIER_MODEL``, else ``checkpoints/default`` in the
    working directory. Nothing else is searched (never the folder the package is installed in)."""
    env = os.environ.get(DEFAULT_CHECKPOINT_ENV)
    if env:
        return Path(env)
    candidate = Path.cwd() / DEFAULT_CHECKPOINT
    if (candidate / "config.json").is_file():
        return candidate
    raise CheckpointError(f"no trained model in {candidate}: {NO_MODEL_HINT}")


@lru_cache(maxsize=4)
def _cached(path: str) -> EventClassifier:
    return EventClassifier.from_pretrained(path)


def load(model: str | os.PathLike[str] | EventClassifier | None = None) -> EventClassifier:
    """Return a classifier: the one given, one loaded (and cached) from a directory, or the default checkpoint."""
    if isinstance(model, EventClassifier):
        return model
    return _cached(str(Path(model if model is not None else default_checkpoint()).resolve()))


def predict(
    texts: str | Sequence[str],
    model: str | os.PathLike[str] | EventClassifier | None = None,
    *,
    batch_size: int | None = None,
    progress: bool | None = None,
    with_codes: bool = False,
) -> Prediction | list[Prediction]:
    """Classify sentences with the default (or given) model; one :class:`Prediction` per input, in order
    (``with_codes``: with the ACLED/CAMEO/PLOVER codes of the predicted labels in ``Prediction.codes``).

    >>> predict(["Jets struck the town on Sunday."])[0].label  # doctest: +SKIP
    'airstrike'
    """
    return load(model).predict(texts, batch_size=batch_size, progress=progress, with_codes=with_codes)


def extract_events(
    article: str,
    model: str | os.PathLike[str] | EventClassifier | None = None,
    *,
    keep_none: bool = True,
    with_codes: bool = False,
) -> list[dict[str, Any]]:
    """Split an article into sentences and classify each one.

    Returns one dict per sentence: ``sentence``, ``start``, ``end`` (offsets into ``article``), ``label``,
    ``score``, ``labels`` and ``probabilities``. With ``keep_none=False`` sentences labelled ``none`` are dropped.
    """
    classifier = load(model)
    sentences = split_sentences(article)
    if not sentences:
        return []
    predictions = classifier.predict([s.text for s in sentences], with_codes=with_codes)
    rows = []
    for sentence, prediction in zip(sentences, predictions):
        if not keep_none and prediction.label == classifier.config.model.none_label:
            continue
        rows.append(sentence_row(sentence, **prediction.to_dict()))
    return rows


def decode_text(data: bytes, source: str) -> str:
    """Decode UTF-8 (a byte-order mark is dropped). Undecodable bytes become U+FFFD, with a warning that names
    ``source`` and the first lines concerned: the text is still classified, and the user is told."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = []
    for number, line in enumerate(data.split(b"\n"), 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            lines.append(number)
    shown = ", ".join(map(str, lines[:8])) + (f" and {len(lines) - 8} more" if len(lines) > 8 else "")
    warnings.warn(
        f"{source}: not valid UTF-8 at line(s) {shown}; the undecodable bytes were replaced with U+FFFD",
        UnicodeWarning,
        stacklevel=2,
    )
    return data.decode("utf-8-sig", errors="replace")


def iter_documents(
    source: str | os.PathLike[str],
    *,
    pattern: str = "*.txt",
    on_skip: Callable[[str, str], None] | None = None,
    errors: str = "skip",
) -> Iterator[tuple[str, str | DocumentError]]:
    """Yield ``(document_id, text)`` from a file, a folder (recursively, files matching ``pattern``, sorted) or
    ``"-"`` (standard input, one document; undecodable bytes are replaced, with a warning). Files are read one at
    a time. A file that cannot be read, is not UTF-8 or holds NUL bytes (binary, UTF-16) is skipped: ``on_skip``
    is called with its path and the reason (default: a warning), and the other files go on. With
    ``errors="row"`` it is also yielded, as ``(path, DocumentError(reason))``, so that it keeps its place in the
    output."""
    if errors not in ("skip", "row"):
        raise ValueError(f"errors must be 'skip' or 'row', got {errors!r}")
    import sys

    if str(source) == "-":
        yield "<stdin>", _universal_newlines(decode_text(sys.stdin.buffer.read(), "<stdin>"))
        return
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob(pattern) if p.is_file())
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(f"{path}: no such file or folder")

    def skip(file: Path, reason: str) -> None:
        if on_skip is not None:
            on_skip(str(file), reason)
        else:
            warnings.warn(f"{file}: skipped ({reason})", stacklevel=3)

    for file in files:
        reason = None
        try:
            data = file.read_bytes()
        except OSError as exc:
            reason = f"cannot be read: {exc.strerror or exc}"
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n") + 1
                reason = f"not valid UTF-8 (line {line}, byte {exc.start}); binary, or another encoding such as latin-1"
            else:
                if "\x00" in text:
                    reason = "contains NUL bytes: a binary file, or UTF-16 text"
        if reason is not None:
            skip(file, reason)
            if errors == "row":
                yield str(file), DocumentError(reason)
            continue
        yield str(file), _universal_newlines(text)


def _universal_newlines(text: str) -> str:
    """``\\r\\n`` and ``\\r`` as ``\\n``, as text-mode reading gives them (offsets refer to this text)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def stream_events(
    documents: Iterable[tuple[str, str | DocumentError]],
    model: str | os.PathLike[str] | EventClassifier | None = None,
    *,
    keep_none: bool = True,
    with_codes: bool = False,
    buffer_sentences: int = 2048,
    progress: bool = True,
) -> Iterator[dict[str, Any]]:
    """Classify the sentences of many documents, streaming: sentences are buffered across documents up to
    ``buffer_sentences`` and classified together, so memory stays flat for any number of documents.

    Yields one dict per sentence, in document and sentence order: ``document``, ``sentence_index``, ``sentence``,
    ``start``, ``end`` and the prediction fields. A document given as a :class:`DocumentError` (see
    :func:`iter_documents` with ``errors="row"``) gives one row in its place: ``document``, ``error`` (the
    reason) and ``None`` everywhere else.
    """
    classifier = load(model)
    none = classifier.config.model.none_label
    pending: list[tuple[str, int, Sentence | DocumentError]] = []

    def flush() -> Iterator[dict[str, Any]]:
        texts = [s.text for _, _, s in pending if isinstance(s, Sentence)]
        predictions = iter(classifier.predict(texts, progress=False, with_codes=with_codes) if texts else [])
        for doc, index, sentence in pending:
            if isinstance(sentence, DocumentError):
                yield article_row(
                    doc, None, None, label=None, score=None, labels=[], probabilities={}, error=str(sentence)
                )
                continue
            prediction = next(predictions)
            if keep_none or prediction.label != none:
                yield article_row(doc, index, sentence, **prediction.to_dict())
        bar.update(len(pending))
        pending.clear()

    with tqdm(desc="sentences", unit="sent", disable=not progress) as bar:
        for doc, text in documents:
            if isinstance(text, DocumentError):
                pending.append((doc, -1, text))
                continue
            for index, sentence in enumerate(iter_sentences(text)):
                pending.append((doc, index, sentence))
                if len(pending) >= buffer_sentences:  # also inside a long document: memory stays flat
                    yield from flush()
        if pending:
            yield from flush()
