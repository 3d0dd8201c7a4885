"""Every text the bot shows, keyed by interface language (Volunteer.Interface): Uzbek (Latin
script, ʻ U+02BB in oʻ and gʻ, ʼ U+02BC for the tutuq belgisi) by default, Russian on request.

`text(language, key, **values)` formats one; `label(language, group, value)` names a choice (an
age band, a dialect, a report reason …) on a button. A missing Russian text falls back to Uzbek,
so a new key never shows a volunteer a KeyError."""

from __future__ import annotations

UZBEK = "uz"
RUSSIAN = "ru"
DEFAULT_LANGUAGE = UZBEK

TEXTS: dict[str, dict[str, str]] = {
    UZBEK: {
        "consent": (
            "Assalomu alaykum! Bu bot oʻzbek va rus nutqini tanuvchi modelni oʻrgatish uchun "
            "ovozlar yigʻadi: siz jumlalarni ovoz chiqarib oʻqiysiz va boshqalarning "
            "yozuvlarini tekshirasiz.\n\n"
            "Yozuvlaringiz va profilingiz (yosh, jins, hudud, ona tili) ochiq maʼlumotlar "
            "toʻplamida faqat taxallus ostida eʼlon qilinadi; ismingiz va Telegram hisobingiz "
            "hech qachon eʼlon qilinmaydi. Istalgan vaqtda /delete buyrugʻi bilan hammasini "
            "oʻchirib tashlashingiz mumkin.\n\nRozimisiz?"
        ),
        "consent_yes": "✅ Ha, roziman",
        "consent_no": "Yoʻq",
        "consent_declined": (
            "Tushunarli. Roziliksiz yozib boʻlmaydi, hech narsa saqlanmadi. Fikringiz oʻzgarsa, "
            "/start buyrugʻini yuboring."
        ),
        "ask_age_band": "Yoshingiz nechada?",
        "ask_gender": "Jinsingiz?",
        "ask_dialect": "Qaysi hududdansiz (shevangiz)?",
        "ask_native_language": "Ona tilingiz qaysi?",
        "profile_saved": "Rahmat, profilingiz saqlandi.",
        "menu": "Nima qilamiz?",
        "menu_record": "🎙 Jumla oʻqish",
        "menu_validate": "✅ Yozuvlarni tekshirish",
        "prompt": (
            "Quyidagi jumlani ovozli xabar bilan oʻqing (mikrofon tugmasini bosib turing):\n\n"
            "«{text}»"
        ),
        "skip_prompt": "⏭ Boshqa jumla",
        "no_prompts": "Hozircha oʻqish uchun jumla qolmadi. Rahmat! Boshqalarning yozuvlarini "
        "tekshirib turing.",
        "checking": "Yozuv tekshirilmoqda…",
        "passed": "Yozuv tekshiruvdan oʻtdi:\n«{text}»\n\nTasdiqlaysizmi?",
        "confirm": "✅ Tasdiqlash",
        "rerecord": "🔁 Qayta yozish",
        "confirmed": "Rahmat! Yozuv saqlandi va boshqa koʻngillilarga tekshirish uchun beriladi.",
        "discarded": "Yozuv oʻchirildi.",
        "refused": "Yozuv qabul qilinmadi: {reason}",
        "check_slow": (
            "Tekshiruv choʻzilib ketdi. Birozdan soʻng «Holatini koʻrish» tugmasini bosing."
        ),
        "check_status": "🔄 Holatini koʻrish",
        "still_checking": "Hali tekshirilmoqda, biroz kuting.",
        "voice_expected": "Iltimos, jumlani ovozli xabar qilib yuboring:\n\n«{text}»",
        "video_note_not_voice": (
            "Bu dumaloq video xabar. Iltimos, ovozli xabar yuboring (mikrofon tugmasi):\n\n«{text}»"
        ),
        "file_not_voice": (
            "Bu fayl. Iltimos, jumlani ovozli xabar qilib yuboring (mikrofon tugmasi):\n\n«{text}»"
        ),
        "voice_too_long": (
            "Ovozli xabar juda uzun ({seconds} soniya): bitta jumla {limit} soniyadan oshmasligi "
            "kerak. Jumlani qaytadan oʻqing."
        ),
        "voice_too_large": "Ovozli xabar juda katta. Jumlani qisqaroq qilib qaytadan oʻqing.",
        "download_failed": (
            "Yozuvni Telegramdan ololmadim. Iltimos, ovozli xabarni yana bir bor yuboring."
        ),
        "record_first": "Avval oʻqish uchun jumla oling.",
        "validate_clip": "Bu yozuvda jumla toʻgʻri oʻqilganmi?\n\n«{text}»",
        "vote_up": "👍 Ha",
        "vote_down": "👎 Yoʻq",
        "vote_skip": "⏭ Oʻtkazish",
        "vote_report": "⚠️ Jumlada xato",
        "voted_up": "👍 Ovozingiz: toʻgʻri oʻqilgan. Rahmat!",
        "voted_down": "👎 Ovozingiz: notoʻgʻri. Rahmat!",
        "vote_thanks": "Rahmat!",
        "already_voted": "Ovozingiz allaqachon hisobga olingan.",
        "clip_decided": "Bu yozuv allaqachon baholangan. Mana boshqasi.",
        "clip_gone": "Bu yozuv endi mavjud emas.",
        "own_clip": "Oʻz yozuvlaringizni boshqalar tekshiradi.",
        "skipped": "Oʻtkazib yuborildi.",
        "no_clips": "Hozircha tekshiriladigan yozuv yoʻq. Keyinroq qaytib keling!",
        "report_choose": "Jumlada nima xato?",
        "report_back": "⬅️ Orqaga",
        "reported": "Rahmat, xabaringiz qabul qilindi.",
        "stale_button": "Bu tugma eskirgan.",
        "stats": (
            "Sizning hissangiz:\n"
            "Oʻqilgan jumlalar: {recorded}\n"
            "Tasdiqlangan yozuvlaringiz: {validated}\n"
            "Bergan ovozlaringiz: {votes}\n\n"
            "Eng faol koʻngillilar:\n{leaderboard}"
        ),
        "leaderboard_row": "{place}. {name}: {recorded} ta yozuv, {votes} ta ovoz{you}",
        "leaderboard_you": " (siz)",
        "leaderboard_empty": "hali hech kim yoʻq",
        "profile": (
            "Profilingiz:\nYosh: {age_band}\nJins: {gender}\nHudud: {dialect}\n"
            "Ona tili: {native_language}\nInterfeys tili: {interface_language}"
        ),
        "profile_edit": "✏️ Oʻzgartirish",
        "not_set": "—",
        "choose_language": "Interfeys tilini tanlang / Выберите язык интерфейса",
        "language_set": "Interfeys tili: oʻzbekcha.",
        "delete_confirm": (
            "Barcha yozuvlaringiz, ovozlaringiz, shikoyatlaringiz va profilingiz butunlay "
            "oʻchiriladi. Buni ortga qaytarib boʻlmaydi. Davom etamizmi?"
        ),
        "delete_yes": "🗑 Ha, hammasini oʻchirish",
        "delete_no": "Bekor qilish",
        "deleted": "Hammasi oʻchirildi ({clips} ta yozuv). Qaytmoqchi boʻlsangiz, /start.",
        "delete_cancelled": "Hech narsa oʻchirilmadi.",
        "need_start": "Boshlash uchun /start buyrugʻini yuboring.",
        "rate_limited": "Juda tez! Bir daqiqadan soʻng davom eting.",
        "error": "Nimadir xato ketdi. Birozdan soʻng qayta urinib koʻring.",
        "help": (
            "/start: boshlash\n/record: jumla oʻqish\n/validate: yozuvlarni tekshirish\n"
            "/stats: hissangiz va reyting\n/profile: profil\n/language: interfeys tili\n"
            "/delete: maʼlumotlaringizni oʻchirish"
        ),
        "command_start": "Boshlash",
        "command_record": "Jumla oʻqish",
        "command_validate": "Yozuvlarni tekshirish",
        "command_stats": "Hissangiz va reyting",
        "command_profile": "Profil",
        "command_language": "Interfeys tili",
        "command_delete": "Maʼlumotlaringizni oʻchirish",
        "command_help": "Yordam",
        # Refusals by ApplicationError code (clip_submit, the model check, vote_cast …).
        "refusal_audio_undecodable": "yozuvni ochib boʻlmadi, fayl buzilgan.",
        "refusal_clip_too_short": "yozuv juda qisqa, jumlani toʻliq oʻqing.",
        "refusal_clip_too_long": "yozuv juda uzun, faqat jumlani oʻqing.",
        "refusal_clip_silent": "yozuvda ovoz eshitilmayapti. Mikrofonni tekshiring.",
        "refusal_clip_clipped": (
            "ovoz juda baland, buzilib ketgan. Mikrofondan biroz uzoqroq gapiring."
        ),
        "refusal_file_too_large": "fayl juda katta.",
        "refusal_prompt_not_found": "bu jumla endi mavjud emas.",
        "refusal_consent_required": "avval /start orqali rozilik bering.",
        "refusal_rate_limited": "juda tez! Bir daqiqadan soʻng davom eting.",
    },
    RUSSIAN: {
        "consent": (
            "Здравствуйте! Этот бот собирает записи голоса, чтобы обучить модель распознавать "
            "узбекскую и русскую речь: вы читаете вслух предложения и проверяете записи других.\n\n"
            "Ваши записи и профиль (возраст, пол, регион, родной язык) публикуются в открытом "
            "наборе данных только под псевдонимом; ваше имя и аккаунт Telegram не публикуются "
            "никогда. Командой /delete можно в любой момент удалить всё.\n\nВы согласны?"
        ),
        "consent_yes": "✅ Да, согласен(на)",
        "consent_no": "Нет",
        "consent_declined": (
            "Понятно. Без согласия записывать нельзя, ничего не сохранено. Если передумаете, "
            "отправьте /start."
        ),
        "ask_age_band": "Сколько вам лет?",
        "ask_gender": "Ваш пол?",
        "ask_dialect": "Из какого вы региона (диалект)?",
        "ask_native_language": "Ваш родной язык?",
        "profile_saved": "Спасибо, профиль сохранён.",
        "menu": "Что будем делать?",
        "menu_record": "🎙 Читать предложения",
        "menu_validate": "✅ Проверять записи",
        "prompt": (
            "Прочитайте это предложение голосовым сообщением (удерживайте кнопку микрофона):\n\n"
            "«{text}»"
        ),
        "skip_prompt": "⏭ Другое предложение",
        "no_prompts": "Предложения для чтения пока закончились. Спасибо! Проверьте записи других.",
        "checking": "Проверяю запись…",
        "passed": "Запись прошла проверку:\n«{text}»\n\nПодтверждаете?",
        "confirm": "✅ Подтвердить",
        "rerecord": "🔁 Перезаписать",
        "confirmed": "Спасибо! Запись сохранена и отправлена на проверку другим волонтёрам.",
        "discarded": "Запись удалена.",
        "refused": "Запись не принята: {reason}",
        "check_slow": "Проверка затянулась. Нажмите «Узнать статус» чуть позже.",
        "check_status": "🔄 Узнать статус",
        "still_checking": "Ещё проверяется, подождите немного.",
        "voice_expected": "Пожалуйста, отправьте предложение голосовым сообщением:\n\n«{text}»",
        "video_note_not_voice": (
            "Это видеосообщение. Пожалуйста, отправьте голосовое (кнопка микрофона):\n\n«{text}»"
        ),
        "file_not_voice": (
            "Это файл. Пожалуйста, прочитайте предложение голосовым сообщением (кнопка "
            "микрофона):\n\n«{text}»"
        ),
        "voice_too_long": (
            "Голосовое сообщение слишком длинное ({seconds} с): одно предложение — не больше "
            "{limit} с. Прочитайте его ещё раз."
        ),
        "voice_too_large": "Голосовое сообщение слишком большое. Прочитайте предложение ещё раз.",
        "download_failed": (
            "Не удалось получить запись от Telegram. Пожалуйста, отправьте голосовое ещё раз."
        ),
        "record_first": "Сначала возьмите предложение для чтения.",
        "validate_clip": "В этой записи предложение прочитано правильно?\n\n«{text}»",
        "vote_up": "👍 Да",
        "vote_down": "👎 Нет",
        "vote_skip": "⏭ Пропустить",
        "vote_report": "⚠️ Ошибка в предложении",
        "voted_up": "👍 Ваш голос: прочитано верно. Спасибо!",
        "voted_down": "👎 Ваш голос: неверно. Спасибо!",
        "vote_thanks": "Спасибо!",
        "already_voted": "Ваш голос уже учтён.",
        "clip_decided": "Эту запись уже оценили. Вот другая.",
        "clip_gone": "Этой записи больше нет.",
        "own_clip": "Ваши записи проверяют другие.",
        "skipped": "Пропущено.",
        "no_clips": "Записей для проверки пока нет. Загляните позже!",
        "report_choose": "Что не так с предложением?",
        "report_back": "⬅️ Назад",
        "reported": "Спасибо, жалоба принята.",
        "stale_button": "Эта кнопка устарела.",
        "stats": (
            "Ваш вклад:\n"
            "Прочитано предложений: {recorded}\n"
            "Ваших записей подтверждено: {validated}\n"
            "Ваших голосов: {votes}\n\n"
            "Самые активные волонтёры:\n{leaderboard}"
        ),
        "leaderboard_row": "{place}. {name}: записей {recorded}, голосов {votes}{you}",
        "leaderboard_you": " (вы)",
        "leaderboard_empty": "пока никого",
        "profile": (
            "Ваш профиль:\nВозраст: {age_band}\nПол: {gender}\nРегион: {dialect}\n"
            "Родной язык: {native_language}\nЯзык интерфейса: {interface_language}"
        ),
        "profile_edit": "✏️ Изменить",
        "not_set": "—",
        "language_set": "Язык интерфейса: русский.",
        "delete_confirm": (
            "Все ваши записи, голоса, жалобы и профиль будут удалены навсегда. Это нельзя "
            "отменить. Продолжить?"
        ),
        "delete_yes": "🗑 Да, удалить всё",
        "delete_no": "Отмена",
        "deleted": "Всё удалено (записей: {clips}). Если захотите вернуться — /start.",
        "delete_cancelled": "Ничего не удалено.",
        "need_start": "Чтобы начать, отправьте /start.",
        "rate_limited": "Слишком быстро! Продолжите через минуту.",
        "error": "Что-то пошло не так. Попробуйте ещё раз чуть позже.",
        "help": (
            "/start — начать\n/record — читать предложения\n/validate — проверять записи\n"
            "/stats — ваш вклад и рейтинг\n/profile — профиль\n/language — язык интерфейса\n"
            "/delete — удалить ваши данные"
        ),
        "command_start": "Начать",
        "command_record": "Читать предложения",
        "command_validate": "Проверять записи",
        "command_stats": "Ваш вклад и рейтинг",
        "command_profile": "Профиль",
        "command_language": "Язык интерфейса",
        "command_delete": "Удалить ваши данные",
        "command_help": "Помощь",
        "refusal_audio_undecodable": "не удалось открыть запись, файл повреждён.",
        "refusal_clip_too_short": "запись слишком короткая, прочитайте предложение целиком.",
        "refusal_clip_too_long": "запись слишком длинная, прочитайте только предложение.",
        "refusal_clip_silent": "в записи не слышно голоса. Проверьте микрофон.",
        "refusal_clip_clipped": (
            "звук слишком громкий и искажён. Говорите чуть дальше от микрофона."
        ),
        "refusal_file_too_large": "файл слишком большой.",
        "refusal_prompt_not_found": "этого предложения больше нет.",
        "refusal_consent_required": "сначала дайте согласие через /start.",
        "refusal_rate_limited": "слишком быстро! Продолжите через минуту.",
    },
}

# Button labels for choices, by group and stored value.
LABELS: dict[str, dict[str, dict[str, str]]] = {
    UZBEK: {
        "age_band": {
            "teens": "19 dan kichik",
            "twenties": "19–29",
            "thirties": "30–39",
            "forties": "40–49",
            "fifties": "50–59",
            "sixties": "60 va undan katta",
        },
        "gender": {"female": "Ayol", "male": "Erkak", "undisclosed": "Aytmayman"},
        "dialect": {
            "tashkent": "Toshkent",
            "fergana": "Fargʻona vodiysi",
            "khorezm": "Xorazm",
            "samarkand_bukhara": "Samarqand–Buxoro",
            "surkhandarya_kashkadarya": "Surxondaryo–Qashqadaryo",
            "karakalpakstan": "Qoraqalpogʻiston",
            "other": "Boshqa",
        },
        "native_language": {"uz": "Oʻzbek tili", "ru": "Rus tili", "other": "Boshqa"},
        "reason": {
            "offensive": "Haqoratli soʻzlar",
            "grammar": "Imlo yoki grammatik xato",
            "different_language": "Boshqa tilda",
            "hard_to_pronounce": "Talaffuzi qiyin",
        },
        "interface_language": {"uz": "Oʻzbekcha", "ru": "Русский"},
    },
    RUSSIAN: {
        "age_band": {
            "teens": "до 19",
            "twenties": "19–29",
            "thirties": "30–39",
            "forties": "40–49",
            "fifties": "50–59",
            "sixties": "60 и старше",
        },
        "gender": {"female": "Женский", "male": "Мужской", "undisclosed": "Не указывать"},
        "dialect": {
            "tashkent": "Ташкент",
            "fergana": "Ферганская долина",
            "khorezm": "Хорезм",
            "samarkand_bukhara": "Самарканд–Бухара",
            "surkhandarya_kashkadarya": "Сурхандарья–Кашкадарья",
            "karakalpakstan": "Каракалпакстан",
            "other": "Другой",
        },
        "native_language": {"uz": "Узбекский", "ru": "Русский", "other": "Другой"},
        "reason": {
            "offensive": "Оскорбительные слова",
            "grammar": "Орфографическая или грамматическая ошибка",
            "different_language": "Другой язык",
            "hard_to_pronounce": "Трудно произнести",
        },
        "interface_language": {"uz": "Oʻzbekcha", "ru": "Русский"},
    },
}


def language_or_default(language: str | None) -> str:
    return language if language in TEXTS else DEFAULT_LANGUAGE


def text(language: str | None, key: str, **values: object) -> str:
    texts = TEXTS[language_or_default(language)]
    template = texts.get(key) or TEXTS[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template


def label(language: str | None, group: str, value: str) -> str:
    labels = LABELS[language_or_default(language)][group]
    return labels.get(value) or LABELS[DEFAULT_LANGUAGE][group].get(value, value)


def refusal(language: str | None, code: str, message: str) -> str:
    """Why a clip (or a vote) was refused, in the volunteer's language; the service's own
    message for a code this module does not know yet."""
    key = f"refusal_{code}"
    if key in TEXTS[language_or_default(language)] or key in TEXTS[DEFAULT_LANGUAGE]:
        return text(language, key)
    return message
