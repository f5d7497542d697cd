"""Fine-tune the classifier with the Hugging Face ``Trainer``.

>>> from model import load_config
>>> result = train(load_config("configs/default.yaml", ["training.epochs=1"]))  # doctest: +SKIP
>>> result.checkpoint, result.metrics["dev"]["macro_f1"]                        # doctest: +SKIP

The same script runs on CPU, one GPU, or several under ``accelerate launch`` / ``torchrun`` (the Trainer handles
the distribution); only the main process writes the final checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.checkpoint import CONFIG_FILE, RECORD_FILE, provenance, read_json
from model.classifier import Calibration, EventClassifier, recover_interrupted_save
from model.config import Config, ConfigError
from model.offline import enable_offline_mode
from training.calibration import choose_thresholds, fit_temperature
from training.data import load_splits
from training.evaluation import compute_metrics, evaluate_classifier, set_metrics

enable_offline_mode()

import torch  # noqa: E402
from transformers import (  # noqa: E402
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices  # noqa: E402

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    checkpoint: Path
    metrics: dict[str, Any]


class _EventTrainer(Trainer):
    """The Hugging Face ``Trainer`` with optional per-label loss weights (``training.none_share``) and a resumable
    length-grouped sampler (see :class:`SeededLengthGroupedSampler`)."""

    def __init__(self, *args: Any, class_weights: torch.Tensor | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is LengthGroupedSampler:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return SeededLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed)
        return sampler

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # type: ignore[override]
        if self.class_weights is None:
            return super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = torch.nn.functional.cross_entropy(
            outputs.logits,
            labels,
            weight=self.class_weights.to(outputs.logits.device),
            label_smoothing=self.args.label_smoothing_factor,
        )
        return (loss, outputs) if return_outputs else loss


def none_share_weights(label_ids: list[int], none_id: int, num_labels: int, share: float) -> torch.Tensor:
    """Per-label loss weights under which the ``none`` rows carry ``share`` of the training signal.

    >>> none_share_weights([0, 1, 2, 2], none_id=2, num_labels=3, share=0.75).tolist()
    [1.0, 1.0, 3.0]
    """
    n_none = sum(1 for i in label_ids if i == none_id)
    n_event = len(label_ids) - n_none
    if n_none == 0 or n_event == 0:
        raise ValueError("training.none_share needs training rows of both the none label and the events")
    weights = torch.ones(num_labels)
    weights[none_id] = share * n_event / ((1.0 - share) * n_none)
    return weights


def freeze_embeddings(model: torch.nn.Module) -> int:
    """Stop training the encoder's input embeddings; return the number of parameters frozen."""
    frozen = 0
    for parameter in model.get_input_embeddings().parameters():
        parameter.requires_grad_(False)
        frozen += parameter.numel()
    base = getattr(model, model.base_model_prefix, model)
    for name in ("position_embeddings", "token_type_embeddings"):
        module = getattr(getattr(base, "embeddings", None), name, None)
        for parameter in module.parameters() if module is not None else ():
            parameter.requires_grad_(False)
            frozen += parameter.numel()
    return frozen


class _AverageLastEpochs(TrainerCallback):
    """Keep the weights at the end of each of the last epochs and average them (checkpoint averaging)."""

    def __init__(self, first_epoch: float) -> None:
        self.first_epoch = first_epoch
        self.states: list[dict[str, torch.Tensor]] = []

    def on_epoch_end(self, args, state, control, model=None, **kwargs):  # type: ignore[override]
        if model is None or state.epoch is None or state.epoch < self.first_epoch - 1e-6:
            return
        self.states.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    def apply(self, model: torch.nn.Module) -> int:
        """Load the average into ``model``; return how many epochs were averaged."""
        if self.states:
            model.load_state_dict(average_state_dicts(self.states))
        return len(self.states)


def _training_arguments(config: Config, run_dir: Path, has_dev: bool) -> TrainingArguments:
    t = config.training
    per_epoch = has_dev and t.eval_each_epoch
    strategy = "steps" if t.save_steps > 0 else "epoch"
    on_gpu = torch.cuda.is_available() and t.device != "cpu"
    precision = t.mixed_precision
    if precision != "no" and not on_gpu:
        warnings.warn(f"training.mixed_precision={precision} is ignored on CPU; training in fp32", stacklevel=3)
        precision = "no"
    return TrainingArguments(
        output_dir=str(run_dir),
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        weight_decay=t.weight_decay,
        warmup_steps=t.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        lr_scheduler_type="linear",
        label_smoothing_factor=t.label_smoothing,
        seed=t.seed,
        data_seed=t.data_seed if t.data_seed is not None else t.seed,
        logging_steps=t.logging_steps,
        eval_strategy=strategy if per_epoch else "no",
        save_strategy=strategy if (per_epoch or t.save_steps > 0) else "no",
        eval_steps=t.save_steps if t.save_steps > 0 else None,
        save_steps=t.save_steps if t.save_steps > 0 else 500,
        save_total_limit=2,
        save_only_model=False,  # keep optimizer, scheduler and RNG state so a run can resume exactly
        load_best_model_at_end=per_epoch and t.average_last_epochs == 1,
        metric_for_best_model="macro_f1" if per_epoch else None,
        greater_is_better=True,
        use_cpu=t.device == "cpu",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        ddp_backend="gloo" if not on_gpu and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        ddp_find_unused_parameters=False,
        # BERT's forward takes **kwargs, so the Trainer believes it normalises its loss by num_items_in_batch and
        # multiplies the loss by the number of processes; it does not, and the gradients would be N times too large.
        average_tokens_across_devices=False,
        dataloader_num_workers=t.num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        train_sampling_strategy="group_by_length" if t.group_by_length else "random",
        report_to="none",
        disable_tqdm=False,
    )


class SeededLengthGroupedSampler(LengthGroupedSampler):
    """Length-grouped batches whose shuffle depends only on ``seed + epoch``.

    The Trainer's own ``LengthGroupedSampler`` draws its permutation from the global torch RNG when an epoch
    starts, so a run resumed mid-epoch draws a different permutation than the uninterrupted run did. Seeding each
    epoch's permutation (and getting the epoch from the Trainer's ``set_epoch``) makes ``--resume`` exact.
    """

    def __init__(self, batch_size: int, lengths: list[int], seed: int) -> None:
        super().__init__(batch_size, lengths=list(lengths))
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


def check_output_dir(config: Config, *, main_process: bool = True) -> Path:
    """Before any work: make sure the checkpoint can be written to ``training.output_dir`` without losing files.

    An existing checkpoint is replaced (atomically, at the end); an empty folder is used; any other existing folder
    is refused unless ``training.overwrite_output_dir`` is set, and so is a file. The parent folder must be
    writable. The main process also repairs and removes what killed runs left next to it (``.old-*``, ``.tmp-*``,
    ``.eval-*``)."""
    output_dir = Path(config.training.output_dir)
    if main_process:
        recover_interrupted_save(output_dir, clean=("old", "tmp", "eval"))
    key = "training.output_dir"
    if output_dir.is_file() or (output_dir.exists() and not output_dir.is_dir()):
        raise ConfigError(f"{key}: {output_dir} is a file, not a folder; choose another output_dir")
    if output_dir.is_dir() and not config.training.overwrite_output_dir:
        is_checkpoint = (output_dir / "config.json").is_file() and (output_dir / CONFIG_FILE).is_file()
        contents = sorted(p.name + ("/" if p.is_dir() else "") for p in output_dir.iterdir())
        if contents and not is_checkpoint:
            shown = ", ".join(contents[:5]) + (f", … ({len(contents) - 5} more)" if len(contents) > 5 else "")
            raise ConfigError(
                f"{key}: {output_dir} exists and is not a checkpoint (it holds {shown}); training would replace "
                "everything in it. Choose a new output_dir, or pass --overwrite (training.overwrite_output_dir=true) "
                "to delete its contents"
            )
    parent = output_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.probe-", dir=parent)).rmdir()
    except OSError as exc:
        raise ConfigError(
            f"{key}: cannot write next to {output_dir} ({exc.strerror or exc}); the checkpoint is written into "
            f"{parent} (a temporary folder renamed into place), so {parent} must be writable"
        ) from None
    return output_dir


def calibrate(classifier: EventClassifier, dev: Any, config: Config) -> Calibration:
    """Fit the temperature (single-label) or the per-label thresholds (multi-label) on the dev split."""
    logits = classifier.predict_logits(dev["text"], progress=False)
    where = config.data.dev_file or f"{config.data.dev_fraction:.0%} of {config.data.train_file}"
    if config.model.problem_type == "multi_label":
        probs = classifier.probabilities_from_logits(logits, temperature=1.0)
        thresholds = choose_thresholds(probs, dev["label_set"], config.model.labels, config.model.none_label)
        return Calibration(temperature=1.0, thresholds=thresholds, fitted_on=where)
    temperature = fit_temperature(logits, dev["label"])
    return Calibration(temperature=temperature, fitted_on=where)


def train(config: Config, *, verbose: bool = True, callbacks: list[Any] | None = None) -> TrainResult:
    """Train on ``config.data``, evaluate on dev (and test), and save the checkpoint to ``training.output_dir``.

    Returns the checkpoint path and the metrics that were saved into it. A short sequence of phases: check the
    output folder, load the data, build the model, tokenise, set up the Trainer, fit, then calibrate, evaluate and
    save (:func:`_finish`).
    """
    if config.training.average_seeds > 1:
        return _train_soup(config, verbose=verbose, callbacks=callbacks)
    main_process = int(os.environ.get("RANK", "0")) == 0
    log = _logger(verbose and main_process)
    check_output_dir(config, main_process=main_process)
    set_seed(config.training.seed)
    splits, reports = _setup_data(config, log)
    classifier = _setup_model(config, log)
    tokenized = _setup_tokenized(splits, classifier.tokenizer, config)
    trainer, averager = _setup_trainer(config, classifier, splits, tokenized, callbacks, log)
    train_output, seconds = _fit(trainer, config, log)
    return _finish(config, classifier, trainer, averager, train_output, seconds, splits, reports, log)


def _logger(enabled: bool) -> Any:
    return print if enabled else (lambda *a, **k: None)


def _run_dir(config: Config) -> Path:
    """Where the Trainer keeps its resumable state: ``.<name>.trainer`` beside ``training.output_dir``."""
    output_dir = Path(config.training.output_dir)
    return output_dir.parent / f".{output_dir.name}.trainer"


def _setup_data(config: Config, log: Any) -> tuple[dict[str, Any], list[Any]]:
    splits, reports = load_splits(config)
    for report in reports:
        log(f"[data] {report.summary()}; labels {report.label_counts}")
    return splits, reports


def _setup_model(config: Config, log: Any) -> EventClassifier:
    classifier = EventClassifier.from_base(config)
    if config.training.freeze_embeddings:
        log(f"[train] embedding layer frozen ({freeze_embeddings(classifier.model):,} parameters)")
    return classifier


def _setup_tokenized(splits: dict[str, Any], tokenizer: Any, config: Config) -> dict[str, Any]:
    """Each split tokenised to ``model.max_length``; multi-label targets as multi-hot float vectors."""
    n_labels = len(config.model.labels)
    multi = config.model.problem_type == "multi_label"

    def encode(batch: dict[str, list]) -> dict[str, list]:
        out = tokenizer(batch["text"], truncation=True, max_length=config.model.max_length)
        if multi:  # multi-hot float targets for BCE-with-logits
            out["labels"] = [[float(j in s) for j in range(n_labels)] for s in batch["label_set"]]
        return out

    drop = ["text", "row", "label_set"] + (["label"] if multi else [])
    return {name: ds.map(encode, batched=True, remove_columns=drop) for name, ds in splits.items()}


def _trainer_metrics(config: Config) -> Any:
    """The Trainer's ``compute_metrics``: dev macro-F1 and accuracy (exact-set accuracy in multi-label mode)."""
    label_names = config.model.labels

    def trainer_metrics(eval_pred: Any) -> dict[str, float]:
        logits, refs = eval_pred
        logits = np.asarray(logits)
        if config.model.problem_type == "multi_label":
            predicted = [[label_names[j] for j in np.flatnonzero(row > 0)] for row in logits]
            gold = [[label_names[j] for j in np.flatnonzero(row > 0.5)] for row in np.asarray(refs)]
            result = set_metrics(predicted, gold, label_names, config.model.none_label)
            return {"macro_f1": result["macro_f1_events"], "accuracy": result["exact_set_accuracy"]}
        result = compute_metrics(logits.argmax(-1), refs, label_names)
        return {"macro_f1": result["macro_f1"], "accuracy": result["accuracy"]}

    return trainer_metrics


def _class_weights(config: Config, splits: dict[str, Any], log: Any) -> torch.Tensor | None:
    """Loss weights for ``training.none_share`` (single-label only), else ``None``."""
    if not config.training.none_share or config.model.problem_type == "multi_label":
        return None
    label_names = config.model.labels
    weights = none_share_weights(
        list(splits["train"]["label"]),
        label_names.index(config.model.none_label),
        len(label_names),
        config.training.none_share,
    )
    log(f"[train] loss weight of {config.model.none_label!r}: {weights.max().item():.2f} "
        f"(none_share {config.training.none_share})")
    return weights


def _setup_trainer(
    config: Config,
    classifier: EventClassifier,
    splits: dict[str, Any],
    tokenized: dict[str, Any],
    callbacks: list[Any] | None,
    log: Any,
) -> tuple[_EventTrainer, _AverageLastEpochs | None]:
    """The Hugging Face Trainer (and the epoch averager when ``training.average_last_epochs`` > 1)."""
    args = _training_arguments(config, _run_dir(config), has_dev="dev" in tokenized)
    class_weights = _class_weights(config, splits, log)
    averager = None
    if config.training.average_last_epochs > 1:
        first = max(1, int(np.ceil(config.training.epochs)) - config.training.average_last_epochs + 1)
        averager = _AverageLastEpochs(first_epoch=first)
        callbacks = [*(callbacks or []), averager]
    trainer = _EventTrainer(
        model=classifier.model,
        class_weights=class_weights,
        args=args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized.get("dev"),
        processing_class=classifier.tokenizer,
        data_collator=DataCollatorWithPadding(classifier.tokenizer),
        compute_metrics=_trainer_metrics(config),
        callbacks=callbacks,
    )
    t = config.training
    log(
        f"[train] {len(tokenized['train'])} examples, effective batch {_effective_batch(config, trainer)} "
        f"(= {t.batch_size} per device x {t.gradient_accumulation_steps} accumulation "
        f"x {args.world_size} processes), learning rate {t.learning_rate}, device {args.device}"
    )
    return trainer, averager


def _effective_batch(config: Config, trainer: Trainer) -> int:
    return config.training.batch_size * config.training.gradient_accumulation_steps * trainer.args.world_size


def _fit(trainer: Trainer, config: Config, log: Any) -> tuple[Any, float]:
    """Run the Trainer (from the last saved state with ``training.resume``); return its output and the seconds."""
    resume = None
    if config.training.resume:
        from transformers.trainer_utils import get_last_checkpoint

        run_dir = _run_dir(config)
        resume = get_last_checkpoint(str(run_dir)) if run_dir.is_dir() else None
        if resume is None:
            raise FileNotFoundError(f"training.resume is set but {run_dir} holds no saved training state")
        log(f"[train] resuming from {resume}")
    start = time.perf_counter()
    train_output = trainer.train(resume_from_checkpoint=resume)
    return train_output, time.perf_counter() - start


def _finish(
    config: Config,
    classifier: EventClassifier,
    trainer: Trainer,
    averager: _AverageLastEpochs | None,
    train_output: Any,
    seconds: float,
    splits: dict[str, Any],
    reports: list[Any],
    log: Any,
) -> TrainResult:
    """Take the trained weights (averaged if asked), then on the main process calibrate, evaluate and save."""
    classifier.model = trainer.model
    if averager is not None:
        averaged = averager.apply(classifier.model)
        log(f"[train] weights averaged over the last {averaged} epochs")
    classifier.model.eval()
    classifier.device = next(classifier.model.parameters()).device
    args = trainer.args
    metrics: dict[str, Any] = {
        "train": {
            "runtime_seconds": round(seconds, 1),
            "examples": len(trainer.train_dataset),
            "epochs": config.training.epochs if config.training.max_steps <= 0 else None,
            "steps": train_output.global_step,
            "effective_batch_size": _effective_batch(config, trainer),
            "learning_rate": config.training.learning_rate,
            "mixed_precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "no",
            "loss": float(train_output.training_loss),
            "device": str(args.device),
            "processes": args.world_size,
            "torch_threads": torch.get_num_threads(),
        },
        "data": [r.__dict__ for r in reports],
    }
    output_dir = Path(config.training.output_dir)
    if trainer.is_world_process_zero():
        record = provenance(config, reports=reports, log_history=trainer.state.log_history, train_seconds=seconds)
        _calibrate_evaluate_save(classifier, splits, config, metrics, log, record=record)
        shutil.rmtree(_run_dir(config), ignore_errors=True)
        log(f"[save] checkpoint written to {output_dir} ({seconds:.0f} s of training)")
    trainer.accelerator.wait_for_everyone()
    return TrainResult(checkpoint=output_dir, metrics=json.loads(json.dumps(metrics, default=str)))


def _calibrate_evaluate_save(
    classifier: EventClassifier,
    splits: dict[str, Any],
    config: Config,
    metrics: dict[str, Any],
    log: Any,
    *,
    record: dict[str, Any] | None = None,
) -> None:
    """Fit the calibration on dev, write dev/test reports, and save the checkpoint to ``training.output_dir``."""
    output_dir = Path(config.training.output_dir)
    label_names = config.model.labels
    if config.training.calibrate and "dev" in splits:
        classifier.calibration = calibrate(classifier, splits["dev"], config)
        metrics["calibration"] = classifier.calibration.to_dict()
        log(f"[calibrate] {classifier.calibration.to_dict()}")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.eval-", dir=output_dir.parent))
    for name in ("dev", "test"):
        if name in splits:
            ds = splits[name]
            gold = [label_names[i] for i in ds["label"]]
            sets = [[label_names[i] for i in s] for s in ds["label_set"]]
            metrics[name] = evaluate_classifier(
                classifier, ds["text"], gold, gold_sets=sets, title=f"{name} split", out_dir=staging / name
            )
            log(f"[eval] {name}: macro-F1 {metrics[name]['macro_f1']:.3f}, accuracy {metrics[name]['accuracy']:.3f}")
    classifier.save_pretrained(output_dir, metrics=metrics, record=record)
    staging.rename(output_dir / "evaluation")


def average_state_dicts(states: list[dict[str, torch.Tensor]], weights: list[float] | None = None) -> dict[str, Any]:
    """The (weighted) mean of several state dicts of one architecture; non-float entries come from the first."""
    weights = weights or [1.0] * len(states)
    total = float(sum(weights))
    first = states[0]
    for state in states[1:]:
        if state.keys() != first.keys() or any(state[k].shape != first[k].shape for k in first):
            raise ValueError("the checkpoints to average do not share one architecture")
    return {
        k: (sum(s[k].detach().double() * w for s, w in zip(states, weights)) / total).to(v.dtype)
        if v.is_floating_point()
        else v
        for k, v in first.items()
    }


def _train_soup(config: Config, *, verbose: bool, callbacks: list[Any] | None) -> TrainResult:
    """``training.average_seeds`` = N > 1: train N models (one initialisation, N data orders), average them."""
    main_process = int(os.environ.get("RANK", "0")) == 0
    log = _logger(verbose and main_process)
    check_output_dir(config, main_process=main_process)
    output_dir = Path(config.training.output_dir)
    n = config.training.average_seeds
    members, member_metrics = [], []
    start = time.perf_counter()
    for k in range(n):
        member = output_dir.parent / f".{output_dir.name}.member-{k}"
        data_seed = (config.training.data_seed if config.training.data_seed is not None else config.training.seed) + k
        log(f"[soup] training member {k + 1} of {n} (data order seed {data_seed})")
        result = train(
            config.update(
                {
                    "training.average_seeds": 1,
                    "training.data_seed": data_seed,
                    "training.output_dir": str(member),
                    "training.overwrite_output_dir": True,
                    "training.calibrate": False,
                    "data.test_file": None,
                }
            ),
            verbose=verbose,
            callbacks=callbacks,
        )
        members.append(member)
        member_metrics.append({"data_seed": data_seed, **result.metrics.get("train", {}),
                               "dev_macro_f1": result.metrics.get("dev", {}).get("macro_f1")})
    seconds = time.perf_counter() - start
    if main_process:
        classifiers = [EventClassifier.from_pretrained(m) for m in members]
        classifier = classifiers[0]
        classifier.model.load_state_dict(average_state_dicts([c.model.state_dict() for c in classifiers]))
        classifier.config = config
        splits, reports = load_splits(config)
        metrics: dict[str, Any] = {
            "train": {"runtime_seconds": round(seconds, 1), "members": member_metrics, "average_seeds": n},
            "data": [r.__dict__ for r in reports],
        }
        log(f"[soup] weights of {n} models averaged")
        histories = [
            {"data_seed": m["data_seed"], "log_history": (read_json(path / RECORD_FILE) or {}).get("log_history")}
            for m, path in zip(member_metrics, members)
        ]
        record = provenance(config, reports=reports, train_seconds=seconds, members=histories)
        _calibrate_evaluate_save(classifier, splits, config, metrics, log, record=record)
        for member in members:
            shutil.rmtree(member, ignore_errors=True)
        log(f"[save] checkpoint written to {output_dir} ({seconds:.0f} s of training)")
        return TrainResult(checkpoint=output_dir, metrics=json.loads(json.dumps(metrics, default=str)))
    return TrainResult(checkpoint=output_dir, metrics={})
