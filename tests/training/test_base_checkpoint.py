"""The transformers checkpoint rebuilt from the bundled base's CTranslate2 model.bin: converted
back, it is the same model (the float16 conversion byte for byte; the int8 one transcribes
Russian like the bundled model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.support import CLIPS
from uzwhisper.lib.metrics import score_utterance

pytestmark = pytest.mark.slow

pytest.importorskip("torch")
pytest.importorskip("transformers")

from training.finetune.base_checkpoint import (  # noqa: E402
    SOURCE_FILE,
    is_rebuilt,
    read_ct2_variables,
)
from training.finetune.convert import convert_ctranslate2  # noqa: E402

# The spec flags newer CTranslate2 versions write that the bundled conversion predates.
NEW_FLAGS = {"decoder/scale_alibi", "decoder/alibi_use_positive_positions"}


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> Path:
    """The bundled model's files linked into a temporary model dir, rebuilt by the command."""
    source = tmp_path_factory.mktemp("base")
    for path in Path(settings.BUNDLED_MODEL_DIR).iterdir():
        if path.is_file():
            (source / path.name).symlink_to(path)
    call_command("rebuild_base_checkpoint", model_dir=str(source))
    return source


def test_rebuild_is_idempotent(rebuilt, capsys) -> None:
    made = (rebuilt / "hf" / "model.safetensors").stat().st_mtime_ns
    call_command("rebuild_base_checkpoint", model_dir=str(rebuilt))
    assert "already rebuilt" in capsys.readouterr().out
    assert (rebuilt / "hf" / "model.safetensors").stat().st_mtime_ns == made
    assert is_rebuilt(rebuilt)
    assert (rebuilt / "hf" / SOURCE_FILE).is_file()


def test_float16_conversion_is_the_bundled_model_byte_for_byte(rebuilt, tmp_path) -> None:
    back = convert_ctranslate2(rebuilt / "hf", tmp_path / "f16", quantization="float16")
    _, bundled = read_ct2_variables(rebuilt / "model.bin")
    _, again = read_ct2_variables(back / "model.bin")
    assert set(again) - set(bundled) <= NEW_FLAGS
    assert set(bundled) <= set(again)
    differ = [n for n in bundled if bundled[n].tobytes() != again[n].tobytes()]
    assert not differ
    assert (bundled["decoder/embeddings/weight"].dtype, again["encoder/conv1/weight"].shape) == (
        "float16",
        (512, 80, 3),
    )


def test_int8_conversion_transcribes_russian_like_the_bundled_model(rebuilt, tmp_path) -> None:
    from faster_whisper import WhisperModel

    back = convert_ctranslate2(rebuilt / "hf", tmp_path / "int8")
    clip = CLIPS["demo-nogo"]
    texts = []
    for model_dir in (settings.BUNDLED_MODEL_DIR, back):
        model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=1)
        segments, _ = model.transcribe(str(clip.path), language="ru", beam_size=5)
        texts.append(" ".join(s.text.strip() for s in segments))
    bundled, again = (score_utterance(clip.text, t, language="ru") for t in texts)
    assert again.counts.word_errors == bundled.counts.word_errors
    assert again.counts.cer is not None
    assert again.counts.cer < 0.05


def test_transformers_generate_transcribes_russian(rebuilt) -> None:
    import torch
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    from training.finetune.recipe import load_audio

    clip = CLIPS["demo-nogo"]
    model = WhisperForConditionalGeneration.from_pretrained(str(rebuilt / "hf")).eval()
    processor = WhisperProcessor.from_pretrained(str(rebuilt / "hf"))
    features = processor.feature_extractor(
        load_audio(str(clip.path)), sampling_rate=16000, return_tensors="pt"
    ).input_features
    with torch.no_grad():
        ids = model.generate(features, language="ru", task="transcribe", num_beams=1)
    text = processor.tokenizer.decode(ids[0], skip_special_tokens=True)
    score = score_utterance(clip.text, text, language="ru")
    assert score.counts.cer is not None
    assert score.counts.cer < 0.2
