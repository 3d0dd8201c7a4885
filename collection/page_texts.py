"""What the collection pages say, in Uzbek (Latin) and Russian: one table the templates render
and the pages' scripts read (through `json_script`), so a sentence is written once per language.

The rest of the site is in English and has no translation catalogue; volunteers read Uzbek or
Russian, so these pages speak their `interface_language` (or `?lang=`), with a switch."""

from __future__ import annotations

from .models import AgeBand, Dialect, Gender, Report, Volunteer

PAGE_LANGUAGES = Volunteer.Interface.values  # ["uz", "ru"]

# Choice labels by language; every value of the model's choices has one (a test checks).
# Native languages are stored as these ISO 639 codes (the model keeps any short text).
CHOICE_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "uz": {
        "dialect": {
            Dialect.TASHKENT: "Toshkent",
            Dialect.FERGANA: "Fargʻona vodiysi",
            Dialect.KHOREZM: "Xorazm",
            Dialect.SAMARKAND_BUKHARA: "Samarqand–Buxoro",
            Dialect.SURKHANDARYA_KASHKADARYA: "Surxondaryo–Qashqadaryo",
            Dialect.KARAKALPAKSTAN: "Qoraqalpogʻiston",
            Dialect.OTHER: "Boshqa",
        },
        "age_band": {
            AgeBand.TEENS: "19 yoshgacha",
            AgeBand.TWENTIES: "19–29",
            AgeBand.THIRTIES: "30–39",
            AgeBand.FORTIES: "40–49",
            AgeBand.FIFTIES: "50–59",
            AgeBand.SIXTIES: "60 va undan katta",
        },
        "gender": {
            Gender.FEMALE: "Ayol",
            Gender.MALE: "Erkak",
            Gender.UNDISCLOSED: "Aytmayman",
        },
        "reason": {
            Report.Reason.OFFENSIVE: "Haqoratli soʻzlar",
            Report.Reason.GRAMMAR: "Grammatik yoki imlo xatosi",
            Report.Reason.DIFFERENT_LANGUAGE: "Boshqa tilda",
            Report.Reason.HARD_TO_PRONOUNCE: "Talaffuz qilish qiyin",
        },
        "language": {"uz": "Oʻzbekcha", "ru": "Ruscha", "mixed": "Aralash (oʻzbekcha-ruscha)"},
        "native_language": {
            "uz": "Oʻzbek tili",
            "ru": "Rus tili",
            "kaa": "Qoraqalpoq tili",
            "tg": "Tojik tili",
            "kk": "Qozoq tili",
            "other": "Boshqa",
        },
    },
    "ru": {
        "dialect": {
            Dialect.TASHKENT: "Ташкент",
            Dialect.FERGANA: "Ферганская долина",
            Dialect.KHOREZM: "Хорезм",
            Dialect.SAMARKAND_BUKHARA: "Самарканд–Бухара",
            Dialect.SURKHANDARYA_KASHKADARYA: "Сурхандарья–Кашкадарья",
            Dialect.KARAKALPAKSTAN: "Каракалпакстан",
            Dialect.OTHER: "Другой",
        },
        "age_band": {
            AgeBand.TEENS: "до 19",
            AgeBand.TWENTIES: "19–29",
            AgeBand.THIRTIES: "30–39",
            AgeBand.FORTIES: "40–49",
            AgeBand.FIFTIES: "50–59",
            AgeBand.SIXTIES: "60 и старше",
        },
        "gender": {
            Gender.FEMALE: "Женский",
            Gender.MALE: "Мужской",
            Gender.UNDISCLOSED: "Не указывать",
        },
        "reason": {
            Report.Reason.OFFENSIVE: "Оскорбительные слова",
            Report.Reason.GRAMMAR: "Грамматические или орфографические ошибки",
            Report.Reason.DIFFERENT_LANGUAGE: "Другой язык",
            Report.Reason.HARD_TO_PRONOUNCE: "Трудно произнести",
        },
        "language": {"uz": "Узбекский", "ru": "Русский", "mixed": "Смешанный (узб.-рус.)"},
        "native_language": {
            "uz": "Узбекский",
            "ru": "Русский",
            "kaa": "Каракалпакский",
            "tg": "Таджикский",
            "kk": "Казахский",
            "other": "Другой",
        },
    },
}

TEXTS: dict[str, dict[str, str]] = {
    "uz": {
        "switch_language": "Русский",
        "nav_record": "Yozib olish",
        "nav_validate": "Tekshirish",
        "nav_progress": "Natijalar",
        # recorder
        "record_title": "Ovoz yozib olish",
        "profile_title": "Siz haqingizda",
        "profile_intro": "Bu maʼlumotlar nutqni tanish modelini turli ovozlarga moslash uchun "
        "kerak. Ismingiz saqlanmaydi: yozuvlar taxallus bilan eksport qilinadi.",
        "age_band": "Yoshingiz",
        "gender": "Jinsingiz",
        "dialect": "Shevangiz (qaysi hududdansiz)",
        "native_language": "Ona tilingiz",
        "choose": "Tanlang…",
        "consent": "Yozuvlarim ochiq nutq maʼlumotlar toʻplamiga (CC0) qoʻshilishiga roziman.",
        "save_profile": "Saqlash va davom etish",
        "consent_needed": "Davom etish uchun rozilik belgisini qoʻying.",
        "mic_title": "Mikrofon tekshiruvi",
        "mic_intro": "Mikrofonni yoqing va bir-ikki soʻz ayting: chiziq harakatlansa, "
        "hammasi joyida.",
        "mic_start": "Mikrofonni yoqish",
        "mic_level": "Ovoz darajasi",
        "mic_ok": "Mikrofon ishlayapti.",
        "mic_quiet": "Ovoz eshitilmayapti. Mikrofonni tekshiring yoki balandroq gapiring.",
        "mic_denied": "Mikrofonga ruxsat berilmadi yoki u topilmadi.",
        "mic_done": "Davom etish",
        "prompt_label": "Shu jumlani ovoz chiqarib oʻqing",
        "record": "● Yozish",
        "stop": "■ Toʻxtatish",
        "play": "▶ Eshitish",
        "submit": "Yuborish",
        "rerecord": "Qayta yozish",
        "confirm": "Tasdiqlash",
        "skip_prompt": "Boshqa jumla",
        "recording": "Yozilmoqda…",
        "finishing": "Yakunlanmoqda…",
        "recorded": "Yozildi. Eshitib koʻring, soʻng yuboring.",
        "uploading": "Yuborilmoqda…",
        "checking": "Yozuv avtomatik tekshirilmoqda…",
        "passed": "Tekshiruvdan oʻtdi. Tasdiqlaysizmi?",
        "refused": "Yozuv qabul qilinmadi",
        "confirmed": "Rahmat! Yozuv saqlandi va boshqalar tekshiradi.",
        "no_prompts": "Hozircha oʻqish uchun jumla yoʻq. Keyinroq qayting.",
        "duration": "Davomiyligi",
        "keys_record": "Tugmalar: R — yozish/toʻxtatish, P — eshitish, Enter — yuborish/"
        "tasdiqlash, Backspace — qayta yozish.",
        # validator
        "validate_title": "Yozuvlarni tekshirish",
        "validate_intro": "Yozuvni eshiting: jumla aniq va toʻliq oʻqilganmi?",
        "vote_yes": "👍 Ha",
        "vote_no": "👎 Yoʻq",
        "skip": "Oʻtkazib yuborish",
        "report": "Jumla haqida xabar berish",
        "report_reason": "Sabab",
        "report_send": "Xabar berish",
        "reported": "Rahmat, xabaringiz qabul qilindi.",
        "voted": "Ovozingiz qabul qilindi.",
        "loading": "Yuklanmoqda…",
        "nothing_to_validate": "Hozircha tekshirish uchun yozuv yoʻq. Keyinroq qayting.",
        "keys_validate": "Tugmalar: Boʻsh joy — eshitish, Y — ha, N — yoʻq, S — oʻtkazib yuborish.",
        # progress
        "progress_title": "Toʻplash natijalari",
        "validated_hours": "Tasdiqlangan soatlar",
        "validated_clips": "Tasdiqlangan yozuvlar",
        "pending_clips": "Tekshiruv kutayotgan yozuvlar",
        "invalidated_clips": "Rad etilgan yozuvlar",
        "volunteers": "Koʻngillilar",
        "by_dialect": "Sheva boʻyicha",
        "by_gender": "Jins boʻyicha",
        "by_age_band": "Yosh boʻyicha",
        "by_language": "Til boʻyicha",
        "not_given": "Koʻrsatilmagan",
        "hours": "soat",
    },
    "ru": {
        "switch_language": "Oʻzbekcha",
        "nav_record": "Запись",
        "nav_validate": "Проверка",
        "nav_progress": "Итоги",
        "record_title": "Запись голоса",
        "profile_title": "О вас",
        "profile_intro": "Эти сведения помогают обучить распознавание речи разным голосам. "
        "Имя не хранится: записи выгружаются под псевдонимом.",
        "age_band": "Возраст",
        "gender": "Пол",
        "dialect": "Диалект (откуда вы)",
        "native_language": "Родной язык",
        "choose": "Выберите…",
        "consent": "Я согласен(на), чтобы мои записи вошли в открытый набор речевых данных (CC0).",
        "save_profile": "Сохранить и продолжить",
        "consent_needed": "Чтобы продолжить, отметьте согласие.",
        "mic_title": "Проверка микрофона",
        "mic_intro": "Включите микрофон и скажите пару слов: если полоска движется, всё в порядке.",
        "mic_start": "Включить микрофон",
        "mic_level": "Уровень звука",
        "mic_ok": "Микрофон работает.",
        "mic_quiet": "Звука не слышно. Проверьте микрофон или говорите громче.",
        "mic_denied": "Доступ к микрофону не дан или микрофон не найден.",
        "mic_done": "Продолжить",
        "prompt_label": "Прочитайте вслух",
        "record": "● Записать",
        "stop": "■ Стоп",
        "play": "▶ Прослушать",
        "submit": "Отправить",
        "rerecord": "Перезаписать",
        "confirm": "Подтвердить",
        "skip_prompt": "Другая фраза",
        "recording": "Идёт запись…",
        "finishing": "Завершаем…",
        "recorded": "Записано. Прослушайте и отправьте.",
        "uploading": "Отправка…",
        "checking": "Запись проверяется автоматически…",
        "passed": "Проверка пройдена. Подтверждаете?",
        "refused": "Запись не принята",
        "confirmed": "Спасибо! Запись сохранена, её проверят другие.",
        "no_prompts": "Пока нет фраз для записи. Загляните позже.",
        "duration": "Длительность",
        "keys_record": "Клавиши: R — запись/стоп, P — прослушать, Enter — отправить/"
        "подтвердить, Backspace — перезаписать.",
        "validate_title": "Проверка записей",
        "validate_intro": "Прослушайте запись: фраза прочитана точно и полностью?",
        "vote_yes": "👍 Да",
        "vote_no": "👎 Нет",
        "skip": "Пропустить",
        "report": "Пожаловаться на фразу",
        "report_reason": "Причина",
        "report_send": "Отправить жалобу",
        "reported": "Спасибо, жалоба принята.",
        "voted": "Голос учтён.",
        "loading": "Загрузка…",
        "nothing_to_validate": "Пока нет записей для проверки. Загляните позже.",
        "keys_validate": "Клавиши: пробел — прослушать, Y — да, N — нет, S — пропустить.",
        "progress_title": "Итоги сбора",
        "validated_hours": "Подтверждённые часы",
        "validated_clips": "Подтверждённые записи",
        "pending_clips": "Записи, ждущие проверки",
        "invalidated_clips": "Отклонённые записи",
        "volunteers": "Волонтёры",
        "by_dialect": "По диалекту",
        "by_gender": "По полу",
        "by_age_band": "По возрасту",
        "by_language": "По языку",
        "not_given": "Не указано",
        "hours": "ч",
    },
}


def page_language(*, requested: str | None, volunteer: Volunteer | None) -> str:
    """`?lang=` when it names a page language, else the volunteer's, else Uzbek."""
    if requested in PAGE_LANGUAGES:
        return requested
    if volunteer is not None and volunteer.interface_language in PAGE_LANGUAGES:
        return volunteer.interface_language
    return Volunteer.Interface.UZBEK


# Errors the pages explain in the volunteer's language, by the server's `code`; any other code
# shows the server's own (English) message.
ERROR_TEXTS: dict[str, dict[str, str]] = {
    "uz": {
        "audio_undecodable": "Yozuvni ochib boʻlmadi. Qayta yozib koʻring.",
        "clip_too_short": "Yozuv juda qisqa. Jumlani toʻliq oʻqing.",
        "clip_too_long": "Yozuv juda uzun. Faqat jumlani oʻqing.",
        "clip_silent": "Yozuvda ovoz yoʻq. Mikrofonni tekshiring.",
        "clip_clipped": "Ovoz juda baland (buzilgan). Mikrofondan uzoqroq gapiring.",
        "file_too_large": "Fayl juda katta.",
        "rate_limited": "Juda tez. Biroz kutib, yana urinib koʻring.",
        "consent_required": "Avval rozilik bering.",
        "already_voted": "Bu yozuvga ovoz bergansiz.",
        "clip_decided": "Bu yozuv allaqachon tekshirilgan.",
        "own_clip": "Oʻz yozuvingizni boshqalar tekshiradi.",
        "network_error": "Server bilan aloqa yoʻq. Internetni tekshirib, qayta urinib koʻring.",
        "no_speech": "Yozuvda nutq eshitilmadi. Jumlani mikrofonga yaqin turib oʻqing.",
        "speaking_rate_implausible": "Yozuvdagi nutq jumlaga mos emas: faqat koʻrsatilgan "
        "jumlani toʻliq oʻqing.",
        "transcript_mismatch": "Yozuv koʻrsatilgan jumlaga oʻxshamayapti. Aynan shu jumlani "
        "oʻqing.",
        "checks_unavailable": "Yozuvni hozir tekshirib boʻlmadi. Birozdan keyin qayta yozing.",
        "prompt_not_found": "Bu jumla endi taklif qilinmaydi. Keyingisini oling.",
    },
    "ru": {
        "audio_undecodable": "Не удалось прочитать запись. Запишите ещё раз.",
        "clip_too_short": "Запись слишком короткая. Прочитайте фразу целиком.",
        "clip_too_long": "Запись слишком длинная. Прочитайте только фразу.",
        "clip_silent": "В записи нет звука. Проверьте микрофон.",
        "clip_clipped": "Слишком громко (искажения). Говорите дальше от микрофона.",
        "file_too_large": "Файл слишком большой.",
        "rate_limited": "Слишком часто. Подождите немного и повторите.",
        "consent_required": "Сначала дайте согласие.",
        "already_voted": "Вы уже голосовали за эту запись.",
        "clip_decided": "Эта запись уже проверена.",
        "own_clip": "Ваши записи проверяют другие.",
        "network_error": "Нет связи с сервером. Проверьте подключение и повторите.",
        "no_speech": "В записи не слышно речи. Прочитайте фразу ближе к микрофону.",
        "speaking_rate_implausible": "Речь в записи не соответствует фразе: прочитайте только "
        "показанную фразу целиком.",
        "transcript_mismatch": "Запись не похожа на показанную фразу. Прочитайте именно её.",
        "checks_unavailable": "Сейчас не удалось проверить запись. Запишите её чуть позже.",
        "prompt_not_found": "Эта фраза больше не предлагается. Возьмите следующую.",
    },
}


def choice_options(*, language: str, field: str) -> list[tuple[str, str]]:
    """(value, label) pairs of `field`'s choices for a page in `language`, in their order."""
    return list(CHOICE_LABELS[language][field].items())
