"""Language detection: our 18 languages in short, noisy texts; honest answers for bad input."""

from __future__ import annotations

import pytest

from bench.langid import load_sms
from casework.language import RELIABLE_CONFIDENCE, detect_language
from casework.texts import SUPPORTED_LANGUAGES


@pytest.mark.parametrize(
    "label, text, code, method",
    [
        ("tagalog sms", "hindi pa ako binabayaran ng amo ko 2 buwan na", "tl", "model"),
        ("spanish misspelt", "el patron me quito mi pasaporte ayuda porfa", "es", "model"),
        ("indonesian abbreviations", "tdk ada makanan dan air di asrama", "id", "model"),
        ("vietnamese without accents", "chu khong tra luong cho toi 2 thang roi", "vi", "model"),
        ("nepali vs hindi", "साहुले दुई महिनादेखि तलब दिएको छैन", "ne", "model"),
        ("urdu vs arabic", "میرا پاسپورٹ لے لیا ہے واپس نہیں دے رہے", "ur", "model"),
        ("ukrainian vs russian", "роботодавець не платить зарплату два місяці", "uk", "model"),
        ("burmese by script", "ကူညီပါ", "my", "script"),
        ("amharic by script", "እርዱኝ", "am", "script"),
        ("bengali by script", "সাহায্য দরকার", "bn", "script"),
        ("chinese by script", "请帮帮我", "zh", "script"),
    ],
)
def test_detects_short_sms(label: str, text: str, code: str, method: str) -> None:
    found = detect_language(text)
    assert (found.code, found.method) == (code, method), label
    assert found.reliable and found.confidence >= RELIABLE_CONFIDENCE


def test_sms_set_covers_all_languages_and_scores_at_least_95_percent() -> None:
    rows = load_sms()
    assert {code for code, _ in rows} == set(SUPPORTED_LANGUAGES)
    right = sum(detect_language(text).code == code for code, text in rows)
    assert right / len(rows) >= 0.95


@pytest.mark.parametrize(
    "label, text, fallback, code, method",
    [
        ("empty", "", None, "und", "none"),
        ("none given", None, None, "und", "none"),
        ("emoji only", "😀🙏🙏", None, "und", "none"),
        ("numbers only", "0917 123 4567", None, "und", "none"),
        ("emoji with known reporter", "🙏", "tl", "tl", "fallback"),
        ("too short to tell", "ok", "es", "es", "fallback"),
        ("unsupported script", "사장님이 월급을 안 줘요", "es", "und", "other-script"),
        ("unknown fallback ignored", "🙏", "xx", "und", "none"),
    ],
)
def test_bad_input_is_marked_honestly(
    label: str, text: str | None, fallback: str | None, code: str, method: str
) -> None:
    found = detect_language(text, fallback=fallback)
    assert (found.code, found.method, found.reliable) == (code, method, False), label


def test_fallback_keeps_the_weak_guess_without_claiming_confidence_for_it() -> None:
    found = detect_language("ok", fallback="es")
    assert found.code == "es" and found.guess == "en" and found.confidence == 0.0


def test_ten_thousand_characters_read_quickly_and_correctly() -> None:
    found = detect_language("El patrón no me paga el sueldo y tengo miedo. " * 220)
    assert len("El patrón no me paga el sueldo y tengo miedo. " * 220) > 10_000
    assert found.code == "es" and found.reliable


def test_mixed_scripts_lower_confidence_and_are_flagged() -> None:
    alone = detect_language("работодатель не платит зарплату два месяца")
    mixed = detect_language("работодатель не платит зарплату, my boss does not pay me my salary")
    assert mixed.mixed_script and not alone.mixed_script
    assert mixed.confidence < alone.confidence
