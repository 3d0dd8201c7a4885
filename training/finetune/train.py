"""One training process: `python -m training.finetune.train <recipe.json>`, or with several GPUs
`torchrun --nproc_per_node N -m training.finetune.train <recipe.json>` (the launcher makes it
data-parallel; transformers' Trainer does the rest). Django-free.

It reports through files in the run's folder, which the Celery task that started it follows:
`metrics.jsonl` (one JSON object per line: {"kind": "loss"|"eval"|"progress", "step", ...}) and
the log on stdout. A file named CANCEL in that folder stops training at the next step; the last
checkpoint saved under checkpoints/ is kept. The trained model (LoRA merged) is written to
final/ with its tokenizer and feature-extractor config, ready for conversion.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from uzwhisper.asr.languages import SUPPORTED_LANGUAGES

from .recipe import (
    CANCEL_FILE,
    METRICS_FILE,
    Collator,
    Recipe,
    Utterance,
    build_model,
    encode_dataset,
    features_of,
    fill_generation_config,
    finite,
    greedy_generate,
    load_audio,
    load_feature_extractor,
    load_tokenizer,
    metrics_line,
    prompt_ids,
    read_utterances,
    text_of,
)
from .scoring import score_format

logger = logging.getLogger("training.finetune.train")


def _callback(
    recipe: Recipe, tokenizer: Any, feature_extractor: Any, evaluation: list[Utterance]
) -> Any:
    from transformers import TrainerCallback

    metrics = recipe.out / METRICS_FILE
    cancel = recipe.out / CANCEL_FILE
    # The worker that started this process: if it dies, stop (its checkpoint is saved) rather
    # than train on unwatched; the run is marked failed when its task is delivered again.
    parent = os.getppid()
    features = {
        row.audio: features_of(feature_extractor, load_audio(row.audio)) for row in evaluation
    }

    class Report(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
            if state.is_world_process_zero and logs and "loss" in logs:
                metrics_line(
                    metrics,
                    {
                        "kind": "loss",
                        "step": state.global_step,
                        "loss": finite(logs.get("loss")),
                        "learning_rate": finite(logs.get("learning_rate")),
                    },
                )

        def on_step_end(self, args, state, control, model=None, **kwargs):  # type: ignore[no-untyped-def]
            if cancel.exists() or os.getppid() != parent:
                control.should_training_stop = True
                control.should_save = True
            if not state.is_world_process_zero:
                return
            metrics_line(
                metrics,
                {"kind": "progress", "step": state.global_step, "max_steps": state.max_steps},
            )
            if model is not None and (
                state.global_step % recipe.eval_steps == 0 or state.global_step == state.max_steps
            ):
                self.evaluate(model, state.global_step)

        def evaluate(self, model: Any, step: int) -> None:
            was_training = model.training
            model.eval()
            score = score_format(
                "checkpoint",
                evaluation,
                lambda row: text_of(
                    tokenizer,
                    greedy_generate(
                        model,
                        features[row.audio],
                        prompt_ids(tokenizer, row.language),
                        recipe.generation_max_length,
                    ),
                ),
            )
            if was_training:
                model.train()
            metrics_line(
                metrics,
                {
                    "kind": "eval",
                    "step": step,
                    "wer": score.wer,
                    "cer": score.cer,
                    "wer_uz": score.slice_wer("language", "uz"),
                    "wer_ru": score.slice_wer("language", "ru"),
                },
            )

    return Report()


def train(recipe: Recipe) -> Path:
    import torch
    from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments

    started = time.perf_counter()
    recipe.out.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(recipe.tokenizer_dir)
    feature_extractor = load_feature_extractor()
    model = build_model(recipe, tokenizer)
    train_rows = read_utterances(recipe.train_manifest)
    eval_rows = [
        r for r in read_utterances(recipe.eval_manifest) if r.language in SUPPORTED_LANGUAGES
    ]
    dataset = encode_dataset(train_rows, tokenizer, feature_extractor)
    gpu = torch.cuda.is_available()
    fp16 = gpu if recipe.fp16 is None else recipe.fp16 and gpu
    args = Seq2SeqTrainingArguments(
        output_dir=str(recipe.checkpoints_dir),
        per_device_train_batch_size=recipe.batch_size,
        gradient_accumulation_steps=recipe.gradient_accumulation_steps,
        learning_rate=recipe.learning_rate,
        warmup_steps=recipe.warmup_steps,
        max_steps=recipe.max_steps,
        logging_steps=recipe.logging_steps,
        save_steps=recipe.save_steps,
        save_total_limit=2,
        eval_strategy="no",
        fp16=fp16,
        seed=recipe.seed,
        report_to=[],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=True,
        use_cpu=not gpu,
        label_names=["labels"],
    )
    trainer = Seq2SeqTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=Collator(),
        callbacks=[_callback(recipe, tokenizer, feature_extractor, eval_rows)],
    )
    resume = None
    checkpoints = sorted(
        recipe.checkpoints_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])
    )
    if checkpoints and (checkpoints[-1] / "trainer_state.json").exists():
        resume = str(checkpoints[-1])
    trainer.train(resume_from_checkpoint=resume)
    if not trainer.is_world_process_zero():
        return recipe.final_dir
    final = trainer.model
    if recipe.method == "lora":
        final = final.merge_and_unload()
    fill_generation_config(final, tokenizer, base_ct2_config=recipe.base_ct2_config)
    recipe.final_dir.mkdir(parents=True, exist_ok=True)
    final.save_pretrained(recipe.final_dir, safe_serialization=True)
    tokenizer.save_pretrained(recipe.final_dir)
    feature_extractor.save_pretrained(recipe.final_dir)
    metrics_line(
        recipe.out / METRICS_FILE,
        {
            "kind": "trained",
            "step": trainer.state.global_step,
            "cancelled": (recipe.out / CANCEL_FILE).exists(),
            "seconds": round(time.perf_counter() - started, 3),
            "examples": len(dataset),
            # Data-parallel processes (torchrun's world size): 1 unless launched on several GPUs.
            "processes": trainer.args.world_size,
        },
    )
    return recipe.final_dir


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    recipe = Recipe.load(Path(argv[0]))
    final = train(recipe)
    logger.info("Trained model written to %s", final)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
