from __future__ import annotations

import pytest

from uzwhisper.lib.normalize import (
    normalize_for_scoring,
    numbers_to_words,
    to_uzbek_latin,
    uzbek_cardinal,
)

TURNED_COMMA, TUTUQ = "\u02bb", "\u02bc"


# --- to_uzbek_latin ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("ўзбек", "oʻzbek"),
        ("қишлоқ", "qishloq"),
        ("ғалаба", "gʻalaba"),
        ("ҳаво", "havo"),
        ("хат", "xat"),
        ("Ўзбекистон Республикаси", "Oʻzbekiston Respublikasi"),
        ("ЎЗБЕКИСТОН", "OʻZBEKISTON"),
        ("Тошкент шаҳри", "Toshkent shahri"),
        ("чой", "choy"),
    ],
)
def test_uzbek_only_and_digraph_letters(cyrillic, latin):
    assert to_uzbek_latin(cyrillic) == latin


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        # е: ye at a word start and after a vowel, e after a consonant
        ("Европа ер поезд келди", "Yevropa yer poyezd keldi"),
        # ё ю я
        ("ёшлар юлдуз ярим", "yoshlar yulduz yarim"),
        # ц: s at a word start and after a consonant (alifbo alone writes "kontsert"), ts after
        # a vowel
        ("цирк концерт милиция", "sirk konsert militsiya"),
        # ъ: tutuq belgisi; dropped before е/ё/ю/я (alifbo alone writes "obʼyekt") and after ў
        ("маъно санъат", f"ma{TUTUQ}no san{TUTUQ}at"),
        ("объект съезд", "obyekt syezd"),
        ("мўъжиза", "moʻjiza"),
        # ь: dropped, y before a vowel
        ("сентябрь батальон", "sentyabr batalyon"),
        # с + ҳ keeps the two letters apart from the sh digraph
        ("Исҳоқ", f"Is{TUTUQ}hoq"),
    ],
)
def test_positional_and_sign_rules(cyrillic, latin):
    assert to_uzbek_latin(cyrillic) == latin


@pytest.mark.parametrize("apostrophe", ["ʻ", "’", "‘", "`", "'", "ʼ", "´"])
def test_every_apostrophe_variant_becomes_turned_comma_after_o_and_g(apostrophe):
    assert to_uzbek_latin(f"o{apostrophe}g{apostrophe}li") == "oʻgʻli"


@pytest.mark.parametrize("apostrophe", ["ʻ", "’", "‘", "`", "'", "ʼ"])
def test_every_apostrophe_variant_becomes_tutuq_elsewhere(apostrophe):
    assert to_uzbek_latin(f"ma{apostrophe}lumot") == f"ma{TUTUQ}lumot"


def test_backticks_typed_as_apostrophes_are_not_code_spans():
    # alifbo leaves text between two backticks alone (code spans); Uzbek typists use ` for ʻ.
    assert to_uzbek_latin("o`zbek va g`alaba") == "oʻzbek va gʻalaba"
    assert to_uzbek_latin("ўзбек `matn` o`qish") == "oʻzbek `matnʼ oʻqish"


def test_latin_and_mixed_script_text():
    assert to_uzbek_latin("Men bugun магазинга bordim") == "Men bugun magazinga bordim"
    assert to_uzbek_latin("o'zbek tili") == "oʻzbek tili"
    # 2026 alphabet letters fold back to the alphabet in use
    assert to_uzbek_latin("özbek şahar çiroq ğoz") == "oʻzbek shahar chiroq gʻoz"
    # Turkish dotted/dotless I never belongs in Uzbek
    assert to_uzbek_latin("İstanbul ılıq") == "Istanbul iliq"


def test_opening_quotes_links_and_digits_are_left_alone():
    assert to_uzbek_latin("'Salom' dedi") == f"'Salom{TUTUQ} dedi"
    assert to_uzbek_latin("https://kun.uz сайти") == "https://kun.uz sayti"
    assert to_uzbek_latin("2018 йил") == "2018 yil"
    assert to_uzbek_latin("") == ""


def test_russian_cyrillic_is_romanised_by_the_same_rules():
    # Documented precondition: callers decide per word which Cyrillic is Uzbek.
    assert to_uzbek_latin("Привет мир") == "Privet mir"


# --- numbers_to_words -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "nol"),
        (7, "yetti"),
        (10, "oʻn"),
        (19, "oʻn toʻqqiz"),
        (40, "qirq"),
        (99, "toʻqson toʻqqiz"),
        (100, "yuz"),
        (345, "uch yuz qirq besh"),
        (1000, "ming"),
        (2018, "ikki ming oʻn sakkiz"),
        (2023, "ikki ming yigirma uch"),
        (1_000_000, "bir million"),
        (3_500_000_021, "uch milliard besh yuz million yigirma bir"),
    ],
)
def test_uzbek_cardinals(number, words):
    assert uzbek_cardinal(number) == words


def test_uzbek_cardinal_refuses_what_it_cannot_spell():
    with pytest.raises(ValueError, match="negative"):
        uzbek_cardinal(-1)
    with pytest.raises(ValueError, match="too large"):
        uzbek_cardinal(10**15)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2018-yil", "ikki ming oʻn sakkiz-yil"),
        ("5ta kitob", "beshta kitob"),
        ("3,5 kilo", "uch butun oʻndan besh kilo"),
        ("2.25", "ikki butun yuzdan yigirma besh"),
        ("25%", "yigirma besh foiz"),
        ("2 000 000 soʻm", "ikki million soʻm"),
        ("1.000.000", "bir million"),
        ("007", "nol nol yetti"),
        ("N5", "N besh"),
        ("v1.2.3", "v bir butun oʻndan ikki.uch"),
        ("so'z", "so'z"),
    ],
)
def test_numbers_in_uzbek_text(text, words):
    assert numbers_to_words(text, "uz") == words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2018", "две тысячи восемнадцать"),
        ("21 день", "двадцать один день"),
        ("3,5", "три целых пять десятых"),
        ("1%", "один процент"),
        ("3%", "три процента"),
        ("11%", "одиннадцать процентов"),
        ("1 000 000", "один миллион"),
    ],
)
def test_numbers_in_russian_text(text, words):
    assert numbers_to_words(text, "ru") == words


def test_numbers_to_words_rejects_other_languages():
    with pytest.raises(ValueError, match="language"):
        numbers_to_words("5", "en")


# --- normalize_for_scoring --------------------------------------------------------------------


def test_issai_and_uzbekvoice_apostrophe_styles_compare_equal():
    issai = "shu o'rinda qo'polligim uchun bulg'agan"
    uzbekvoice = "Shu oʻrinda qoʻpolligim uchun bulgʻagan."
    assert normalize_for_scoring(issai, "uz") == normalize_for_scoring(uzbekvoice, "uz")
    assert normalize_for_scoring(issai, "uz") == "shu o'rinda qo'polligim uchun bulg'agan"


@pytest.mark.parametrize("apostrophe", ["ʻ", "’", "‘", "`", "'", "ʼ"])
def test_every_apostrophe_variant_scores_the_same(apostrophe):
    text = f"O{apostrophe}zbekiston ma{apostrophe}lumotlari bog{apostrophe}"
    assert normalize_for_scoring(text, "uz") == "o'zbekiston ma'lumotlari bog'"


def test_cyrillic_uzbek_scores_equal_to_latin_uzbek():
    cyrillic = "Ўзбекистон — гўзал юрт! 2018 йил."
    latin = "O'zbekiston go'zal yurt, ikki ming o'n sakkiz-yil"
    assert normalize_for_scoring(cyrillic, "uz") == normalize_for_scoring(latin, "uz")
    assert normalize_for_scoring(cyrillic, None) == normalize_for_scoring(latin, None)


def test_uzbekvoice_spelled_numbers_match_digits():
    spelled = "ikki ming oʻn sakkiz-yil aprelda"
    assert normalize_for_scoring("2018-yil aprelda", "uz") == normalize_for_scoring(spelled, "uz")


def test_russian_stays_cyrillic():
    text = "Привет, мир! Ёлка — 5 штук, 21% «скидки»."
    expected = "привет мир елка пять штук двадцать один процент скидки"
    assert normalize_for_scoring(text, "ru") == expected
    assert normalize_for_scoring(text, None) == expected


def test_stress_marks_and_quotes_are_dropped():
    assert normalize_for_scoring("молоко́ 'свежее'", "ru") == "молоко свежее"


def test_mixed_text_without_a_language_is_decided_per_word():
    assert (
        normalize_for_scoring("Bugun 5 ta kitob oldim, а потом 3 тетради купил", None)
        == "bugun besh ta kitob oldim а потом три тетради купил"
    )
    assert normalize_for_scoring("Мен бугун магазинга бордим", None) == (
        normalize_for_scoring("Men bugun magazinga bordim", None)
    )
    assert normalize_for_scoring("2018", "mixed") == "ikki ming o'n sakkiz"


def test_punctuation_only_and_empty_text_normalise_to_empty():
    assert normalize_for_scoring("...!? — «»", "uz") == ""
    assert normalize_for_scoring("", None) == ""


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language"):
        normalize_for_scoring("salom", "kk")
