"""Kazakh dates with the case ending the sentence needs.

Kazakh marks "until", "from", "no later than" and "at" with a case suffix on the
date itself ("10:05-ке дейін", "10:05-тен бастап", "10:05-те"). A time written in
digits takes the suffix of the word it is read as: the minutes (or the hour, on
the hour), read by their last word, so "10:05" ends in "бес" and "10:30" in "отыз".
A calendar day shown without a time takes the suffix on the month's name ("24 наурызға").
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date, format_datetime

CASES = ("dat", "abl", "loc")  # dative (… дейін), ablative (… бастап, … кешіктірмей), locative (at)

# The last word a number is read with, and its dative, locative and ablative suffixes.
_UNITS = {1: "бір", 2: "екі", 3: "үш", 4: "төрт", 5: "бес", 6: "алты", 7: "жеті", 8: "сегіз", 9: "тоғыз"}
_TENS = {0: "нөл", 10: "он", 20: "жиырма", 30: "отыз", 40: "қырық", 50: "елу"}
_SUFFIXES = {
    "бір": ("ге", "де", "ден"),
    "екі": ("ге", "де", "ден"),
    "үш": ("ке", "те", "тен"),
    "төрт": ("ке", "те", "тен"),
    "бес": ("ке", "те", "тен"),
    "алты": ("ға", "да", "дан"),
    "жеті": ("ге", "де", "ден"),
    "сегіз": ("ге", "де", "ден"),
    "тоғыз": ("ға", "да", "дан"),
    "нөл": ("ге", "де", "ден"),
    "он": ("ға", "да", "нан"),
    "жиырма": ("ға", "да", "дан"),
    "отыз": ("ға", "да", "дан"),
    "қырық": ("қа", "та", "тан"),
    "елу": ("ге", "де", "ден"),
}


# A date without a time ends in the month's name, which takes the suffix itself: "24 наурызға дейін".
_MONTH_SUFFIXES = {
    1: ("ға", "да", "дан"),
    2: ("ға", "да", "нан"),
    3: ("ға", "да", "дан"),
    4: ("ге", "де", "ден"),
    5: ("ға", "да", "дан"),
    6: ("ға", "да", "нан"),
    7: ("ге", "де", "ден"),
    8: ("ға", "да", "дан"),
    9: ("ке", "те", "тен"),
    10: ("ға", "да", "нан"),
    11: ("ға", "да", "дан"),
    12: ("ға", "да", "нан"),
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


def kazakh_day(day: date, case: str | None = None) -> str:
    """'2027 жылғы 24 наурыз' (a calendar day, no time) with, when asked, its case: '… 24 наурызға'."""
    text = format_date(day, "y 'жылғы' d MMMM", locale="kk")
    if case is None:
        return text
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; one of {CASES}")
    dative, locative, ablative = _MONTH_SUFFIXES[day.month]
    return text + {"dat": dative, "loc": locative, "abl": ablative}[case]
