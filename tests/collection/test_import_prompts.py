"""manage.py import_prompts, with the shipped starter set and bad files."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from collection.models import Prompt
from tests.support import ROOT

pytestmark = pytest.mark.django_db

STARTER = ROOT / "collection" / "data" / "starter_prompts.csv"


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_prompts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_starter_set_imports_once_with_code_switched_prompts():
    out, err = run(str(STARTER), "--source", "uzwhisper starter set, CC0")
    assert out.strip() == "35 prompts added, 0 duplicates skipped, 0 rows refused"
    assert err == ""
    counts = {lang: Prompt.objects.filter(language=lang).count() for lang in ("uz", "ru", "mixed")}
    assert counts == {"uz": 15, "ru": 7, "mixed": 13}
    mixed = Prompt.objects.filter(language="mixed")
    # Each code-switched prompt really holds both scripts.
    assert all(any("а" <= c <= "я" for c in p.text.lower()) for p in mixed)
    assert all(any("a" <= c <= "z" for c in p.text.lower()) for p in mixed)
    again, _ = run(str(STARTER))
    assert again.strip() == "0 prompts added, 35 duplicates skipped, 0 rows refused"


def test_a_text_file_needs_a_language_and_bad_lines_are_named(tmp_path):
    text = tmp_path / "ru.txt"
    text.write_text("Добрый день.\n\n!!!\nДобрый  день\n", encoding="utf-8")
    with pytest.raises(CommandError, match="needs --language"):
        run(str(text))
    out, err = run(str(text), "--language", "ru")
    assert out.strip() == "1 prompts added, 1 duplicates skipped, 1 rows refused"
    assert err.strip() == "ru.txt:3: the prompt holds no words"


def test_a_csv_without_a_text_column_or_a_missing_file_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,language\nSalom,uz\n", encoding="utf-8")
    with pytest.raises(CommandError, match="`text` column"):
        run(str(bad))
    with pytest.raises(CommandError, match="No such file"):
        run(str(tmp_path / "missing.csv"))
