"""Kazakh dates with the case ending the sentence needs.

Kazakh marks "until", "from", "no later than" and "at" with a case suffix on the
date itself ("10:05-ке дейін", "10:05-тен бастап", "10:05-те"). A time written in
digits takes the suffix of the word it is read as: the minutes (or the hour, on
the hour), read by their last word, so "10:05" ends in "бес" and "10:30" in "отыз".
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime

CASES = ("dat", "abl", "loc")  # dative (… дейін), ablative (… бастап, … кешіктірмей), locative (at)

# The last word a number is read with, and its dative, locative and ablative suffixes.
_UNITS = {1: "бір", 2: "екі", 3: "үш", 4: "төрт", 5: "бес", 6: "алты", 7: "жеті", 8: "сегіз", 9: "тоғыз"}
_TENS = {0: "нөл", 10: "он", 20: "жиырма", 30: "отыз", 40: "қырық", 50: "елу"}
_SUFFIXES = {
    "бір": ("ге", "де", "ден"), "екі": ("ге", "де", "ден"), "үш": ("ке", "те", "тен"),
    "төрт": ("ке", "те", "тен"), "бес": ("ке", "те", "тен"), "алты": ("ға", "да", "дан"),
    "жеті": ("ге", "де", "ден"), "сегіз": ("ге", "де", "ден"), "тоғыз": ("ға", "да", "дан"),
    "нөл": ("ге", "де", "ден"), "он": ("ға", "да", "нан"), "жиырма": ("ға", "да", "дан"),
    "отыз": ("ға", "да", "дан"), "қырық": ("қа", "та", "тан"), "елу": ("ге", "де", "ден"),
}


def last_word(number: int) -> str:
    """For an hour (0-23) or a minute (0-59)."""
    return _UNITS[number % 10] if number % 10 else _TENS[number]


def suffix(hour: int, minute: int, case: str) -> str:
    dative, locative, ablative = _SUFFIXES[last_word(minute if minute else hour)]
    return {"dat": dative, "loc": locative, "abl": ablative}[case]


def kazakh_date(local: datetime, case: str | None = None) -> str:
    """'2027 жылғы 8 сәуір, сағат 10:05' with, when asked, its case: '… 10:05-ке'.

    ``local`` is already in the provider's time zone.
    """
    text = format_datetime(local, "y 'жылғы' d MMMM, 'сағат' HH:mm", tzinfo=local.tzinfo, locale="kk")
    if case is None:
        return text
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; one of {CASES}")
    return f"{text}-{suffix(local.hour, local.minute, case)}"
