"""WER/CER per utterance, corpus-level aggregation and slicing, on small exact examples."""

from __future__ import annotations

import pytest

from uzwhisper.lib.metrics import (
    EmptyReferenceError,
    ErrorCounts,
    aggregate,
    aggregate_by_slice,
    score_normalised,
    score_utterance,
    slice_values,
    source_label,
)


def test_word_and_character_edits_are_counted_exactly():
    score = score_normalised("a b c d", "a x c")
    counts = score.counts
    assert (counts.ref_words, counts.substitutions, counts.deletions, counts.insertions) == (
        4,
        1,
        1,
        0,
    )
    assert score.wer == 0.5
    # Characters, spaces included: "a b c d" (7) against "a x c": b→x, then " d" deleted.
    assert (counts.ref_chars, counts.char_errors) == (7, 3)
    assert score.cer == pytest.approx(3 / 7)


def test_insertions_make_wer_exceed_one():
    score = score_normalised("bir", "bir ikki uch")
    assert score.counts.insertions == 2
    assert score.wer == 2.0


def test_empty_hypothesis_is_all_deletions():
    score = score_normalised("salom dunyo", "")
    assert score.counts.deletions == 2
    assert score.wer == 1.0
    assert score.cer == 1.0


def test_corpus_wer_is_total_errors_over_total_words_not_a_mean():
    short = score_normalised("ha", "yo'q").counts  # 1 word, 1 error: WER 100%
    long = score_normalised(
        "bir ikki uch to'rt besh olti yetti sakkiz to'qqiz",
        "bir ikki uch to'rt besh olti yetti sakkiz to'qqiz",
    ).counts  # 9 words, no error
    total = aggregate([short, long])
    assert total.utterances == 2
    assert total.ref_words == 10
    assert total.word_errors == 1
    assert total.wer == pytest.approx(0.1)  # a mean of per-utterance WERs would say 0.5
    assert short.char_errors == 4  # "ha" → "yo'q": two substitutions, two insertions
    assert total.cer == pytest.approx(4 / (2 + long.ref_chars))


def test_rates_are_none_without_reference():
    assert ErrorCounts().wer is None
    assert ErrorCounts().cer is None


def test_the_project_normaliser_is_applied_to_both_sides():
    # Apostrophe variants, case and punctuation are not errors.
    score = score_utterance("Shu oʻrinda, odam!", "shu o'rinda odam", language="uz")
    assert score.reference == "shu o'rinda odam"
    assert score.wer == 0.0
    assert score_utterance("Привет, мир!", "привет мир", language="ru").wer == 0.0
    # Uzbek Cyrillic from the model compares equal to the Latin reference.
    assert score_utterance("qo'l", "қўл", language="uz").wer == 0.0


def test_code_switched_text_is_scored_in_one_script_on_both_sides():
    # The reference is mostly Latin, the hypothesis mostly Cyrillic: still the same words.
    score = score_utterance(
        "ammo boshqa bir sabab Извините", "аммо бошқа бир сабаб извините", language="mixed"
    )
    assert score.wer == 0.0


def test_a_punctuation_only_reference_cannot_be_scored():
    with pytest.raises(EmptyReferenceError, match="empty after normalising"):
        score_utterance("... — !", "nimadir", language="uz")


def test_slice_values():
    assert slice_values(language="uz") == {"language": "uz", "code_switched": "no"}
    assert slice_values(language="mixed", source="synthetic uz+ru join; a + b") == {
        "language": "mixed",
        "code_switched": "yes",
        "source": "synthetic uz+ru join",
    }
    assert slice_values(language="uz", code_switched=True, dialect=" Khorezm ")["dialect"] == (
        "Khorezm"
    )
    assert slice_values(language="uz", code_switched=True)["code_switched"] == "yes"


def test_source_label_keeps_the_head_of_a_citation():
    assert (
        source_label("ISSAI Uzbek Speech Corpus (USC), test split, utterance 1131474547_2_29207_1")
        == "ISSAI Uzbek Speech Corpus"
    )
    assert source_label("Telegram") == "Telegram"


def test_aggregate_by_slice_sums_counts_per_slice():
    one_of_two = ErrorCounts(
        utterances=1, ref_words=2, substitutions=1, ref_chars=10, char_errors=1
    )
    perfect_three = ErrorCounts(utterances=1, ref_words=3, ref_chars=15)
    all_wrong_five = ErrorCounts(
        utterances=1, ref_words=5, deletions=5, ref_chars=20, char_errors=20
    )
    results = aggregate_by_slice(
        [
            (slice_values(language="uz", dialect="Fergana", source="USC"), one_of_two),
            (slice_values(language="uz", source="USC"), perfect_three),
            (slice_values(language="mixed", dialect="Fergana", source="joined"), all_wrong_five),
        ]
    )
    by_label = {r.label: r for r in results}
    assert [r.label for r in results] == [
        "overall",
        "language=mixed",
        "language=uz",
        "dialect=Fergana",
        "code_switched=no",
        "code_switched=yes",
        "source=USC",
        "source=joined",
    ]
    assert by_label["overall"].counts.word_errors == 6
    assert by_label["overall"].wer == pytest.approx(6 / 10)
    assert by_label["overall"].cer == pytest.approx(21 / 45)
    assert by_label["language=uz"].wer == pytest.approx(1 / 5)
    assert by_label["language=uz"].counts.utterances == 2
    assert by_label["language=mixed"].wer == 1.0
    # Only rows with a dialect are in the dialect slice.
    assert by_label["dialect=Fergana"].counts.utterances == 2
    assert by_label["dialect=Fergana"].wer == pytest.approx(6 / 7)
    assert by_label["code_switched=yes"].counts.ref_words == 5
    assert by_label["source=USC"].as_dict() == {
        "dimension": "source",
        "value": "USC",
        "utterances": 2,
        "ref_words": 5,
        "word_errors": 1,
        "substitutions": 1,
        "deletions": 0,
        "insertions": 0,
        "ref_chars": 25,
        "char_errors": 1,
        "wer": 0.2,
        "cer": 0.04,
    }
