"""Word tags and edits by part on a code-switched set, without a model."""

from __future__ import annotations

from types import SimpleNamespace

from training.codeswitch_eval import (
    TagAgreement,
    has_word_languages,
    hypothesis_words,
    reference_tag_agreement,
    scoring_tokens,
)

ROW = SimpleNamespace(text="salom dunyo привет мир", word_languages=["uz", "uz", "ru", "ru"])


def test_a_word_tagged_other_is_counted_apart_from_the_agreement():
    counts = TagAgreement()
    counts.add("uz", "uz")
    counts.add("uz", "ru")
    counts.add("uz", "other")
    counts.add("ru", "ru")

    figures = counts.as_dict()
    assert figures["words_compared"] == 4
    assert figures["tagged_other"] == 1
    assert figures["words_tagged_uz_or_ru"] == 3
    assert figures["agree"] == 2
    assert figures["agreement"] == 2 / 3
    assert figures["agreement_counting_other_as_wrong"] == 2 / 4
    assert figures["by_language"]["uz"] == {
        "words_compared": 3,
        "tagged_other": 1,
        "agree": 1,
        "agreement": 1 / 2,
    }
    assert figures["by_language"]["ru"]["agreement"] == 1.0


def test_agreement_is_none_without_a_word_tagged_uz_or_ru():
    counts = TagAgreement()
    assert counts.as_dict()["agreement"] is None
    assert counts.as_dict()["by_language"]["ru"]["agreement"] is None
    counts.add("uz", "other")
    assert counts.as_dict()["agreement"] is None
    assert counts.as_dict()["agreement_counting_other_as_wrong"] == 0.0


def test_reference_tags_are_compared_with_the_known_languages():
    number = SimpleNamespace(
        text="men oʻzbekman 2024 я русский", word_languages=["uz", "uz", "uz", "ru", "ru"]
    )

    counts, left_out = reference_tag_agreement([ROW, number])

    assert left_out == 0
    assert counts.compared == 9
    assert counts.other == 1  # the number
    assert counts.agree == 8


def test_rows_need_one_known_language_per_word():
    assert has_word_languages(ROW)
    assert not has_word_languages(SimpleNamespace(text="salom dunyo", word_languages=[]))
    assert not has_word_languages(SimpleNamespace(text="salom dunyo", word_languages=["uz"]))


def test_scoring_tokens_keep_their_word_label():
    # A number is scored as words; a punctuation-only word as nothing.
    tokens = scoring_tokens(["25", "—", "Извините,"], ["uz", "uz", "ru"])
    assert tokens == [("yigirma", "uz"), ("besh", "uz"), ("izvinite", "ru")]


def test_a_deletion_and_a_substitution_count_in_their_part():
    item = {"index": 0, "hypothesis": "salom привет дом"}

    figures, left_out = hypothesis_words([item], [ROW])  # rows as a list, by position

    parts = figures.as_dict()["by_part"]
    assert left_out == 0
    assert parts["uz"] == {
        "ref_words": 2,
        "hits": 1,
        "substitutions": 0,
        "deletions": 1,  # dunyo
        "insertions": 0,
        "share_recognised": 0.5,
        "wer": 0.5,
    }
    assert parts["ru"]["hits"] == 1
    assert parts["ru"]["substitutions"] == 1  # мир → дом
    assert parts["ru"]["wer"] == 0.5
    assert figures.tags.compared == 3  # the deleted word has no hypothesis word to tag


def test_an_exact_hypothesis_is_all_hits_and_an_empty_one_all_deletions():
    exact, _ = hypothesis_words([{"index": 7, "hypothesis": ROW.text}], {7: ROW})
    empty, _ = hypothesis_words([{"index": 7, "hypothesis": ""}], {7: ROW})

    assert exact.as_dict()["by_part"]["uz"]["wer"] == 0.0
    assert exact.as_dict()["tags"]["agreement"] == 1.0
    assert empty.as_dict()["by_part"]["ru"]["deletions"] == 2
    assert empty.tags.compared == 0
