"""Collection bot benchmark: simulated volunteers recording and voting at once through the
volunteers' Telegram bot.

The real bot (collection.telegram, long polling) runs in this process against the Bot API
stand-in of the tests (tests/telegram_standin.py); a Celery worker checks the recordings with the
bundled model. Each volunteer goes through consent and profile, reads one prompt (a real test
clip as an OGG/Opus voice message), confirms it once checked, then validates other volunteers'
clips. Printed: updates handled per second, the bot's reply latency (median, P95: from an update
to the bot's first answer to it), the checks' wait, and whether any clip or vote was lost or
doubled (exit status 1 if so).

Uses DATABASE_URL / REDIS_URL / CELERY_BROKER_URL when set (PostgreSQL recommended: 50 volunteers
at once), else a database and broker of its own under a temporary folder.

    .venv/bin/python scripts/benchmark_collection_bot.py [--volunteers 50] [--votes 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_support import BIN, ROOT, Processes, app_env

sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")

PROFILE = {"age_band": "twenties", "gender": "male", "dialect": "tashkent", "native_language": "uz"}
REPLY_S = 120  # one reply, on a machine this benchmark keeps busy
CHECKS_S = 900  # a clip's checks: behind every other volunteer's on one worker


@dataclass
class Tally:
    # seconds from an update to the bot's first answer, by phase: consent and profile,
    # recording (the ASR worker busy on the same CPUs), validating (the checks all done)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    checks_waits: list[float] = field(default_factory=list)  # voice -> verdict
    updates: int = 0
    confirmed: list[str] = field(default_factory=list)  # clip ids (hex)
    votes: list[tuple[int, str]] = field(default_factory=list)  # (telegram id, clip hex)
    refused: int = 0
    elapsed: float = 0.0
    validating_since: float = 0.0  # when the last volunteer's recording was done
    validating_s: float = 0.0
    validating_updates: int = 0


async def first_answer(
    standin: Any, user: Any, mark: int, sent_at: float, tally: Tally, phase: str
) -> None:
    """Record the time from an update to the bot's first call about it (a message to the
    volunteer, an edit, or the answer to their button press)."""

    def about(call: Any) -> bool:
        return call.chat_id == user.id or (
            call.method == "answerCallbackQuery"
            and str(call.params.get("callback_query_id", "")).startswith(f"{user.id}-")
        )

    call = await standin.wait_for(about, after=mark, within=REPLY_S)
    tally.latencies.setdefault(phase, []).append(call.at - sent_at)


async def volunteer(
    standin: Any,
    user: Any,
    audio_by_text: dict[str, bytes],
    votes: int,
    recorded: asyncio.Barrier,
    tally: Tally,
) -> None:
    phase = "profile"

    async def send(action: Any) -> int:
        mark = standin.mark()
        sent_at = time.monotonic()
        action()
        tally.updates += 1
        if phase == "validate":
            tally.validating_updates += 1
        await first_answer(standin, user, mark, sent_at, tally, phase)
        return mark

    mark = await send(lambda: standin.send_text(user, "/start"))
    question = await standin.reply(user, after=mark, button="consent:yes", within=REPLY_S)
    steps = [("consent", "yes"), *PROFILE.items()]
    for number, (name, value) in enumerate(steps):
        data = f"{name}:{value}"
        mark = await send(lambda q=question, d=data: standin.press(user, q, d))
        if number + 1 < len(steps):
            following = f"{steps[number + 1][0]}:"
            question = await standin.reply(user, after=mark, button=following, within=REPLY_S)
    menu = await standin.reply(user, after=mark, button="menu:record", within=REPLY_S)

    phase = "record"
    mark = await send(lambda: standin.press(user, menu, "menu:record"))
    while True:  # skip prompts (of an existing database) that no test clip reads
        prompt = await standin.reply(user, after=mark, button="rec:skip", within=REPLY_S)
        sentence = prompt.text.split("«", 1)[1].rsplit("»", 1)[0]
        if sentence in audio_by_text:
            break
        mark = await send(lambda p=prompt: standin.press(user, p, "rec:skip"))
    voice = audio_by_text[sentence]
    sent_at = time.monotonic()
    mark = await send(lambda: standin.send_voice(user, voice, duration=5))
    verdict = await standin.reply(
        user, after=mark, method="editMessageText", button="clip:", within=CHECKS_S
    )
    tally.checks_waits.append(verdict.at - sent_at)
    confirm = [b for b in verdict.buttons if b.startswith("clip:ok:")]
    if not confirm:
        tally.refused += 1
    else:
        mark = await send(lambda: standin.press(user, verdict, "clip:ok:"))
        await standin.reply(user, after=mark, contains="saqlandi", within=REPLY_S)
        tally.confirmed.append(confirm[0].split(":")[2])

    if await recorded.wait() == 0:  # everyone's clip is in the pool before anyone validates
        tally.validating_since = time.monotonic()
    phase = "validate"
    mark = await send(lambda: standin.send_text(user, "/validate"))
    for _ in range(votes):
        offer = await standin.wait_for(
            lambda c, m=mark: (
                c.chat_id == user.id
                and (any(b.startswith("vote:up:") for b in c.buttons) or "yozuv yoʻq" in c.text)
            ),
            after=mark,
            within=REPLY_S,
        )
        if not offer.buttons or not offer.buttons[0].startswith("vote:up:"):
            break  # every clip is decided or taken
        clip_hex = offer.buttons[0].split(":")[2]
        mark = await send(lambda o=offer: standin.press(user, o, "vote:up:"))
        answer = await standin.wait_for(
            lambda c: (
                c.method == "answerCallbackQuery"
                and str(c.params.get("callback_query_id", "")).startswith(f"{user.id}-")
            ),
            after=mark,
            within=REPLY_S,
        )
        if answer.params.get("text") == "Rahmat!":
            tally.votes.append((user.id, clip_hex))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def run(volunteers: int, votes: int, audio_by_text: dict[str, bytes]) -> Tally:
    from django.conf import settings

    from tests.telegram_standin import BotApiStandIn, polling_bot
    from tests.telegram_standin import Volunteer as TelegramUser

    standin = BotApiStandIn().start()
    settings.TELEGRAM_BOT_TOKEN = standin.token
    settings.TELEGRAM_API_BASE_URL = standin.url
    tally = Tally()
    try:
        async with polling_bot():
            users = [TelegramUser(700_000 + n, first_name=f"V{n}") for n in range(volunteers)]
            started = time.monotonic()
            # Recording first for everyone, then validating: with each volunteer's clip in the
            # pool there is something for everyone to vote on.
            recorded = asyncio.Barrier(len(users))
            await asyncio.gather(
                *(volunteer(standin, u, audio_by_text, votes, recorded, tally) for u in users)
            )
            elapsed = time.monotonic() - started
            tally.validating_s = time.monotonic() - tally.validating_since
    finally:
        standin.stop()
    tally.elapsed = elapsed
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=50)
    parser.add_argument("--votes", type=int, default=3, help="votes each volunteer casts")
    parser.add_argument("--threads", type=int, default=2, help="CTranslate2 CPU threads")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="uzwhisper-bot-bench-"))
    # Not from uzwhisper.settings: importing it now would fix the settings before the
    # environment below (database, media folder) is in place.
    model = os.environ.get("WHISPER_MODEL", str(ROOT / "var" / "models" / "whisper-base"))
    env = app_env(
        work,
        model=model,
        threads=args.threads,
        COLLECTION_CHECK_WAIT_SECONDS=str(CHECKS_S),
        MEDIA_ROOT=str(work / "media"),
    )
    os.environ.update(env)  # this process runs the bot: the same database, broker and media
    import subprocess

    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    from django.conf import settings

    from collection.models import Clip, Prompt, Vote
    from collection.services import PromptRow, prompts_import
    from tests.support import CLIPS
    from uzwhisper.lib.audio import decode_to_array, write_audio
    from uzwhisper.lib.model_bundle import assemble_bundled_model

    if str(settings.BUNDLED_MODEL_DIR) == settings.WHISPER_MODEL:
        assemble_bundled_model(settings.BUNDLED_MODEL_DIR)
    # The test clips' sentences are the prompts; a volunteer reads the one offered to them.
    audio_by_text = {
        clip.text: write_audio(
            decode_to_array(clip.path), work / f"{name}.ogg", fmt="ogg"
        ).read_bytes()
        for name, clip in CLIPS.items()
    }
    prompts_import(
        rows=[PromptRow(text=c.text, language=c.language) for c in CLIPS.values()], source="bench"
    )
    texts = dict(Prompt.objects.values_list("text", "id"))
    missing = set(audio_by_text) - set(texts)
    if missing:
        raise SystemExit(f"prompts differ from the clips' sentences: {missing}")
    clips_before = Clip.objects.count()
    votes_before = Vote.objects.count()

    with Processes(work, env) as processes:
        processes.start(
            [
                str(BIN / "celery"),
                "-A",
                "uzwhisper",
                "worker",
                "-Q",
                settings.CELERY_ASR_QUEUE,
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "-n",
                f"bot-bench-{os.getpid()}@%h",
            ],
            "worker.log",
        )
        # The checks' wait should not include the worker's start.
        deadline = time.monotonic() + 180
        while " ready." not in (work / "worker.log").read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise SystemExit(f"the worker did not start; see {work / 'worker.log'}")
            time.sleep(0.5)
        tally = asyncio.run(run(args.volunteers, args.votes, audio_by_text))

    confirmed = set(tally.confirmed)
    stored = {
        clip.id.hex: clip
        for clip in Clip.objects.filter(volunteer__telegram_id__gte=700_000).exclude(
            status__in=["checking", "unconfirmed", "refused"]
        )
    }
    vote_rows = list(
        Vote.objects.filter(voter__telegram_id__gte=700_000).values_list(
            "voter__telegram_id", "clip_id"
        )
    )
    stored_votes = sorted((voter, clip.hex) for voter, clip in vote_rows)
    tallied = sum(c.up_votes + c.down_votes for c in stored.values())
    problems = []
    if set(stored) != confirmed or len(tally.confirmed) != len(confirmed):
        problems.append(f"clips: {len(confirmed)} confirmed, {len(stored)} stored")
    if stored_votes != sorted(tally.votes):
        problems.append(f"votes: {len(tally.votes)} acknowledged, {len(stored_votes)} stored")
    if tallied != len(stored_votes):
        problems.append(f"clip tallies count {tallied} votes; {len(stored_votes)} stored")
    figures = {
        "volunteers": args.volunteers,
        "updates": tally.updates,
        "seconds": round(tally.elapsed, 1),
        "updates_per_second": round(tally.updates / tally.elapsed, 2),
        "validating_updates_per_second": round(tally.validating_updates / tally.validating_s, 2),
        **{
            f"reply_latency_{phase}_s": {
                "median": round(statistics.median(values), 3),
                "p95": round(percentile(values, 0.95), 3),
                "n": len(values),
            }
            for phase, values in tally.latencies.items()
        },
        "checks_wait_median_s": round(statistics.median(tally.checks_waits), 1),
        "checks_wait_max_s": round(max(tally.checks_waits), 1),
        "clips_confirmed": len(confirmed),
        "clips_refused_by_checks": tally.refused,
        "votes": len(tally.votes),
        "clips_before": clips_before,
        "votes_before": votes_before,
        "problems": problems,
    }
    for name, value in figures.items():
        print(f"{name}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
