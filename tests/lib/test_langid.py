from __future__ import annotations

import pytest

from uzwhisper.lib.langid import code_mixing_index, switch_points, tag_words, word_key


def tags_of(sentence: str) -> list[str]:
    return tag_words(sentence.split())


# --- tagger on real sentences ---------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        # ISSAI USC and UzbekVoice references (tests/data, ../shared/testdata)
        "fojia oqibatida halok bo'lganlarga to'lanishi kerak bo'lgan to'lov pullarini hisoblash",
        "ammo boshqa bir sabab bilan hayvon deya olmayman",
        "vaqtlar turizmni rivojlantirish maqsadida xorijdan qancha-qancha bloggerlar",
        # the same in Cyrillic, and Cyrillic without any Uzbek-only letter
        "аммо бошқа бир сабаб билан ҳайвон дея олмайман",
        "бу китобни мен сенга бераман",
    ],
)
def test_uzbek_sentences_are_uzbek(sentence):
    assert set(tags_of(sentence)) == {"uz"}


@pytest.mark.parametrize(
    "sentence",
    [
        "Ожидание и удержание вызова.",
        "Введите пароль и нажмите решетку.",
        "Вы не можете ответить на это сообщение, так как отправитель не имеет ящика",
    ],
)
def test_russian_sentences_are_russian(sentence):
    assert set(tags_of(sentence)) == {"ru"}


def test_mixed_uzbek_russian_sentence_switches_where_the_language_does():
    words = ["men", "bugun", "bozorga", "bordim", "но", "там", "ничего", "не", "было"]
    tags = tag_words(words)
    assert tags == ["uz"] * 4 + ["ru"] * 5
    assert switch_points(tags) == [4]


def test_mixed_cyrillic_sentence_switches_too():
    tags = tags_of("Мен бугун бозорга бордим но там ничего не было")
    assert tags == ["uz"] * 4 + ["ru"] * 5


def test_numbers_punctuation_and_latin_names_in_russian_are_other():
    tags = tag_words(["Позвоните", "Google", "в", "2018", "году", "—", "ок"])
    assert tags == ["ru", "other", "ru", "other", "ru", "other", "ru"]


def test_an_ambiguous_cyrillic_word_takes_its_neighbours_language():
    # "сайт" is the same word in both languages.
    assert tags_of("сайт ишламаяпти ва мен жуда хафаман")[0] == "uz"
    assert tags_of("сайт не работает и я очень расстроен")[0] == "ru"


def test_uzbek_only_letters_decide_a_word_on_their_own():
    assert tag_words(["қаерда"]) == ["uz"]
    assert tag_words(["oʻzbek"]) == ["uz"]


def test_empty_input():
    assert tag_words([]) == []
    assert tag_words(["...", "42"]) == ["other", "other"]


@pytest.mark.parametrize(
    ("token", "key"),
    [
        ("O‘zbekiston,", "o'zbekiston"),
        ("«bog`»", "bog'"),
        ("2018-yil", "yil"),
        ("'Salom'", "salom"),
        ("—", ""),
    ],
)
def test_word_key(token, key):
    assert word_key(token) == key


# --- switch points and CMI --------------------------------------------------------------------


def test_switch_points_skip_other():
    assert switch_points([]) == []
    assert switch_points(["uz", "uz", "ru", "ru", "uz"]) == [2, 4]
    assert switch_points(["uz", "other", "ru", "other", "other", "ru"]) == [2]
    assert switch_points(["other", "ru", "other"]) == []


@pytest.mark.parametrize(
    ("tags", "cmi"),
    [
        ([], 0.0),
        (["other", "other"], 0.0),
        (["uz", "uz", "uz"], 0.0),
        (["uz", "ru"], 50.0),
        # n = 5, u = 1, max = 3: 100 * (1 - 3/4)
        (["uz", "uz", "ru", "other", "uz"], 25.0),
        # n = 6, u = 0, max = 4: 100 * (1 - 4/6)
        (["ru", "ru", "uz", "ru", "uz", "ru"], pytest.approx(100 / 3)),
    ],
)
def test_code_mixing_index(tags, cmi):
    assert code_mixing_index(tags) == cmi
