"""Fine-tuning Whisper with Hugging Face transformers: the model, the data, the trainer. Django-free
and heavy (torch, transformers, peft): only training workers import it, in the process that
`python -m training.finetune.train` (or `torchrun … -m training.finetune.train`) starts.

The recipe is the Hugging Face Whisper fine-tuning recipe (Seq2SeqTrainer, AdamW, linear warm-up,
fp16 on GPU); data-parallel training on several GPUs comes from the launcher (torchrun/accelerate),
not from this module. Labels carry timestamp tokens (`<|0.00|> text <|end|>`), so a fine-tune
keeps writing segment timestamps, and the generation config is filled before saving (languages,
task tokens, suppressed tokens, alignment heads): without it CTranslate2's conversion has no
languages and word timestamps have no cross-attention heads to align with.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from uzwhisper.asr.languages import SAMPLE_RATE, SUPPORTED_LANGUAGES
from uzwhisper.lib.audio import decode_to_array

from .spec import CANCEL_FILE, METRICS_FILE, Recipe, Utterance, read_utterances

# The training process takes these from here too (one import for the heavy side).
__all__ = ["CANCEL_FILE", "METRICS_FILE", "Recipe", "Utterance", "read_utterances"]

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 30.0
TIMESTAMP_STEP = 0.02
# Whisper's token ids (multilingual vocabulary of 51865, as in the bundled base's tokenizer.json).
SOT = "<|startoftranscript|>"
EOT = "<|endoftext|>"
NO_TIMESTAMPS = "<|notimestamps|>"
# The bundled tokenizer.json stops before the timestamp tokens: they follow <|notimestamps|>,
# one per 20 ms up to 30 s, and the model's vocabulary holds them (51865 in all).
VOCAB_SIZE = 51865
TASK_TOKENS = {"transcribe": "<|transcribe|>", "translate": "<|translate|>"}
# The tiny randomly initialised Whisper of the tests and smoke runs (DESIGN.md "Training path").
TINY = {
    "d_model": 64,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 128,
    "decoder_ffn_dim": 128,
}


# --- tokenizer, model ---------------------------------------------------------------------


def load_tokenizer(tokenizer_dir: str | Path) -> Any:
    from transformers import WhisperTokenizerFast

    return WhisperTokenizerFast(
        tokenizer_file=str(Path(tokenizer_dir) / "tokenizer.json"),
        bos_token=EOT,
        eos_token=EOT,
        unk_token=EOT,
        pad_token=EOT,
    )


def load_feature_extractor() -> Any:
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=80, sampling_rate=SAMPLE_RATE)


def language_token_ids(tokenizer: Any) -> dict[str, int]:
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    ids = {}
    for code in LANGUAGES:
        token = f"<|{code}|>"
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is not None and token_id != tokenizer.unk_token_id:
            ids[token] = token_id
    return ids


def fill_generation_config(model: Any, tokenizer: Any, *, base_ct2_config: str = "") -> None:
    """Languages, task tokens, suppressed tokens and alignment heads: what the CTranslate2
    converter and faster-whisper read from a checkpoint."""
    ct2 = json.loads(Path(base_ct2_config).read_text()) if base_ct2_config else {}
    gen = model.generation_config
    gen.decoder_start_token_id = tokenizer.convert_tokens_to_ids(SOT)
    gen.eos_token_id = gen.pad_token_id = tokenizer.convert_tokens_to_ids(EOT)
    gen.bos_token_id = gen.eos_token_id
    gen.lang_to_id = language_token_ids(tokenizer)
    gen.task_to_id = {task: tokenizer.convert_tokens_to_ids(t) for task, t in TASK_TOKENS.items()}
    gen.no_timestamps_token_id = tokenizer.convert_tokens_to_ids(NO_TIMESTAMPS)
    gen.is_multilingual = True
    gen.max_initial_timestamp_index = 50
    gen.return_timestamps = False
    gen.suppress_tokens = list(ct2.get("suppress_ids", []))
    gen.begin_suppress_tokens = list(
        ct2.get("suppress_ids_begin", [tokenizer.convert_tokens_to_ids(" "), gen.eos_token_id])
    )
    config = model.config
    heads = [
        list(pair)
        for pair in ct2.get("alignment_heads", [])
        if pair[0] < config.decoder_layers and pair[1] < config.decoder_attention_heads
    ]
    if not heads:
        # A model of another shape than the base: the upper half of the decoder's heads, as
        # CTranslate2 does for a Whisper without alignment heads.
        heads = [
            [layer, head]
            for layer in range(config.decoder_layers // 2, config.decoder_layers)
            for head in range(config.decoder_attention_heads)
        ]
    gen.alignment_heads = heads
    gen.forced_decoder_ids = None
    # Otherwise loading replaces this config with one made from the model's config, which has no
    # languages (and the conversion then has none).
    gen._from_model_config = False
    model.config.forced_decoder_ids = None
    model.config.suppress_tokens = gen.suppress_tokens
    model.config.begin_suppress_tokens = gen.begin_suppress_tokens


def build_model(recipe: Recipe, tokenizer: Any) -> Any:
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    torch.manual_seed(recipe.seed)
    if recipe.init == "tiny-random":
        eot = tokenizer.convert_tokens_to_ids(EOT)
        config = WhisperConfig(
            vocab_size=VOCAB_SIZE,
            num_mel_bins=80,
            max_source_positions=1500,
            max_target_positions=448,
            decoder_start_token_id=tokenizer.convert_tokens_to_ids(SOT),
            pad_token_id=eot,
            bos_token_id=eot,
            eos_token_id=eot,
            **TINY,
        )
        model = WhisperForConditionalGeneration(config)
    else:
        model = WhisperForConditionalGeneration.from_pretrained(recipe.init)
    fill_generation_config(model, tokenizer, base_ct2_config=recipe.base_ct2_config)
    if recipe.method == "lora":
        from peft import LoraConfig, get_peft_model

        return get_peft_model(
            model,
            LoraConfig(
                r=recipe.lora_r,
                lora_alpha=recipe.lora_alpha,
                lora_dropout=recipe.lora_dropout,
                target_modules=recipe.lora_target_modules,
                bias="none",
            ),
        )
    return model


# --- data ---------------------------------------------------------------------------------


def timestamp_token(tokenizer: Any, seconds: float) -> int:
    step = min(1500, max(0, round(seconds / TIMESTAMP_STEP)))
    return int(tokenizer.convert_tokens_to_ids(NO_TIMESTAMPS)) + 1 + step


def label_ids(
    tokenizer: Any, *, text: str, language: str, duration: float, timestamps: bool
) -> list[int]:
    """With timestamps: <|lang|><|transcribe|><|0.00|> text <|end|><|endoftext|>; without:
    <|lang|><|transcribe|><|notimestamps|> text <|endoftext|>. (The start-of-transcript token is
    the decoder's start token, added when labels are shifted.) Whisper was trained on both; a
    fine-tune keeps both, so segment timestamps still come out after it."""
    text_ids = tokenizer.encode(" " + text.strip(), add_special_tokens=False)
    head = [
        tokenizer.convert_tokens_to_ids(f"<|{language}|>"),
        tokenizer.convert_tokens_to_ids(TASK_TOKENS["transcribe"]),
    ]
    eot = tokenizer.convert_tokens_to_ids(EOT)
    if not timestamps:
        return [*head, tokenizer.convert_tokens_to_ids(NO_TIMESTAMPS), *text_ids, eot]
    end = timestamp_token(tokenizer, min(duration, WINDOW_SECONDS))
    return [*head, timestamp_token(tokenizer, 0.0), *text_ids, end, eot]


def prompt_ids(tokenizer: Any, language: str) -> list[int]:
    """The decoding prompt of evaluations: text only, the same for every model format (with
    timestamps, CTranslate2 applies Whisper's timestamp rules and transformers' generic
    generate does not)."""
    return [
        tokenizer.convert_tokens_to_ids(SOT),
        tokenizer.convert_tokens_to_ids(f"<|{language}|>"),
        tokenizer.convert_tokens_to_ids(TASK_TOKENS["transcribe"]),
        tokenizer.convert_tokens_to_ids(NO_TIMESTAMPS),
    ]


def load_audio(path: str) -> np.ndarray:
    audio = decode_to_array(path)
    return audio[: int(WINDOW_SECONDS * SAMPLE_RATE)]


def features_of(feature_extractor: Any, audio: np.ndarray) -> np.ndarray:
    return feature_extractor(audio, sampling_rate=SAMPLE_RATE, return_tensors="np").input_features[
        0
    ]


def encode_dataset(
    utterances: Iterable[Utterance], tokenizer: Any, feature_extractor: Any
) -> list[dict[str, Any]]:
    """Features and labels per utterance (short data sets: held in memory)."""
    examples = []
    for index, row in enumerate(utterances):
        if row.language not in SUPPORTED_LANGUAGES:
            continue  # code-switched rows have no single language token to train with
        audio = load_audio(row.audio)
        examples.append(
            {
                "input_features": features_of(feature_extractor, audio),
                "labels": label_ids(
                    tokenizer,
                    text=row.text,
                    language=row.language,
                    duration=audio.size / SAMPLE_RATE,
                    timestamps=index % 2 == 0,
                ),
            }
        )
    return examples


class Collator:
    """Stack features; pad labels with -100 (ignored by the loss)."""

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        features = torch.tensor(np.stack([e["input_features"] for e in examples]))
        longest = max(len(e["labels"]) for e in examples)
        labels = torch.full((len(examples), longest), -100, dtype=torch.long)
        for index, example in enumerate(examples):
            labels[index, : len(example["labels"])] = torch.tensor(example["labels"])
        return {"input_features": features, "labels": labels}


# --- greedy decoding, the same for the checkpoint, the ONNX export and CTranslate2 --------


def greedy_generate(
    model: Any, features: np.ndarray, prompt: list[int], max_new_tokens: int
) -> list[int]:
    """Greedy tokens after `prompt` for one window of features (a transformers or an optimum
    ONNX Runtime model): the generic generate, not Whisper's, so that every format decodes with
    the same prompt and the same suppressed tokens."""
    import torch
    from transformers import GenerationMixin

    # A LoRA model decodes through its base, whose layers carry the adapters in place.
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    with torch.no_grad():
        output = GenerationMixin.generate(
            model,
            input_features=torch.tensor(features[None]),
            decoder_input_ids=torch.tensor([prompt]),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
        )
    return [int(t) for t in output[0][len(prompt) :]]


def ctranslate2_greedy(
    model: Any, features: np.ndarray, prompt: list[int], max_new_tokens: int
) -> list[int]:
    import ctranslate2

    result = model.generate(
        ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], dtype=np.float32)),
        [prompt],
        beam_size=1,
        # CTranslate2's Whisper stops at half of `max_length` (as openai-whisper's sample_len is
        # half the text context): measured 12 tokens for 24, 24 for 48, 50 for 100.
        max_length=min(448, 2 * max_new_tokens),
        return_scores=False,
    )
    return [int(t) for t in result[0].sequences_ids[0]]


def text_of(tokenizer: Any, token_ids: list[int]) -> str:
    eot = tokenizer.convert_tokens_to_ids(EOT)
    if eot in token_ids:
        token_ids = token_ids[: token_ids.index(eot)]
    first_special = tokenizer.convert_tokens_to_ids(SOT)
    return str(tokenizer.decode([t for t in token_ids if t < first_special - 1])).strip()


def metrics_line(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
