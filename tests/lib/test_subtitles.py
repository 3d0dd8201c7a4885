from __future__ import annotations

from dataclasses import dataclass

from uzwhisper.lib.subtitles import srt_timestamp, to_srt, to_txt, to_vtt, vtt_timestamp


@dataclass
class Cue:
    start: float
    end: float
    text: str


CUES = [Cue(0.0, 2.5, " Salom, dunyo! "), Cue(2.5, 3661.0049, "Привет --> мир"), Cue(4, 5, "  ")]


def test_timestamps_round_to_milliseconds_and_carry_hours():
    assert srt_timestamp(3661.0049) == "01:01:01,005"
    assert vtt_timestamp(59.9996) == "00:01:00.000"
    assert srt_timestamp(-0.2) == "00:00:00,000"


def test_srt_numbers_cues_from_one_and_skips_empty_text():
    assert to_srt(CUES) == (
        "1\n00:00:00,000 --> 00:00:02,500\nSalom, dunyo!\n\n"
        "2\n00:00:02,500 --> 01:01:01,005\nПривет -> мир\n"
    )


def test_vtt_has_header_and_dot_milliseconds():
    assert to_vtt(CUES) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nSalom, dunyo!\n\n"
        "00:00:02.500 --> 01:01:01.005\nПривет -> мир\n"
    )


def test_txt_is_one_segment_a_line():
    assert to_txt(CUES) == "Salom, dunyo!\nПривет --> мир\n"


@dataclass
class MarkedCue(Cue):
    untranscribed: bool = False


def test_speech_not_transcribed_is_shown_with_its_times_in_every_format():
    cues = [
        MarkedCue(0.0, 3.2, "", untranscribed=True),
        MarkedCue(3.2, 5.0, "Привет"),
        MarkedCue(5.0, 6.0, "   "),  # nothing said and not marked: still left out
    ]
    assert to_txt(cues) == "[speech, not transcribed 00:00:00.000–00:00:03.200]\nПривет\n"
    assert to_srt(cues) == (
        "1\n00:00:00,000 --> 00:00:03,200\n[speech, not transcribed]\n\n"
        "2\n00:00:03,200 --> 00:00:05,000\nПривет\n"
    )
    assert to_vtt(cues) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:03.200\n[speech, not transcribed]\n\n"
        "00:00:03.200 --> 00:00:05.000\nПривет\n"
    )
