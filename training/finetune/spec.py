"""What a fine-tune run is asked to do (`Recipe`) and the rows it reads (`Utterance`): plain data,
no heavy imports, shared by the web process (validating a launch) and the training worker."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

CANCEL_FILE = "CANCEL"
METRICS_FILE = "metrics.jsonl"


@dataclass
class Recipe:
    """Everything one training process needs, written as JSON by the run's service."""

    output_dir: str
    # A directory with tokenizer.json (the base version's), used for every init.
    tokenizer_dir: str
    train_manifest: str
    eval_manifest: str
    # "tiny-random": a tiny randomly initialised Whisper (tests, smoke runs);
    # otherwise a transformers Whisper checkpoint directory to start from.
    init: str = "tiny-random"
    # A CTranslate2 config.json to take suppressed tokens and alignment heads from (the base's).
    base_ct2_config: str = ""
    method: str = "full"  # full | lora (merged into the weights before saving)
    # Defaults of the Hugging Face Whisper recipe ("Fine-Tune Whisper" blog post and
    # run_speech_recognition_seq2seq).
    learning_rate: float = 1e-5
    warmup_steps: int = 500
    max_steps: int = 4000
    batch_size: int = 16
    gradient_accumulation_steps: int = 1
    eval_steps: int = 1000
    logging_steps: int = 25
    save_steps: int = 1000
    generation_max_length: int = 225
    fp16: bool | None = None  # None: on when a GPU is there
    seed: int = 42
    lora_r: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])

    @property
    def out(self) -> Path:
        return Path(self.output_dir)

    @property
    def final_dir(self) -> Path:
        return self.out / "final"

    @property
    def checkpoints_dir(self) -> Path:
        return self.out / "checkpoints"

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Recipe:
        return cls(**json.loads(path.read_text()))


@dataclass(frozen=True)
class Utterance:
    audio: str
    text: str
    language: str
    speaker: str = ""
    dialect: str = ""
    source: str = ""
    code_switched: bool = False


def read_utterances(manifest: str | Path) -> list[Utterance]:
    """Rows of a JSONL manifest (DESIGN.md "Evaluation"), audio resolved against its folder."""
    path = Path(manifest)
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            rows.append(
                Utterance(
                    audio=str((path.parent / data["audio"]).resolve()),
                    text=data["text"],
                    language=data["language"],
                    speaker=str(data.get("speaker") or ""),
                    dialect=str(data.get("dialect") or ""),
                    source=str(data.get("source") or ""),
                    code_switched=bool(data.get("code_switched")) or data["language"] == "mixed",
                )
            )
        except KeyError as exc:
            raise ValueError(f"line {number}: no {exc.args[0]!r} field") from exc
        except (ValueError, TypeError) as exc:
            raise ValueError(f"line {number}: {exc}") from exc
    return rows
