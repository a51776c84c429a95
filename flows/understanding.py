"""A small understanding layer for typed text: pure functions, no I/O.

People do not type what a form expects. They write a receipt number inside a sentence
(``check my case EAC2190000001 please``) or in quotes, type a button's label instead of
pressing it, write ``help``, ``menu`` or ``status`` as a word, misspell it (``hlep``,
``staus``), or greet in Spanish. This module reads such text:

- `receipt_in` and `a_number_in` find a receipt number or an A-number inside a sentence;
- `label_for` finds the offered button whose label the text is (ignoring case, accents and
  punctuation);
- `read` finds the command a word names (``help``, ``menu``, ``agent``, ``back``, ``mine``,
  ``status``, a Spanish greeting), an offered button the words name (``reschedule`` for
  *Reschedule biometrics*, ``later`` for *Later times*), or the closest of those when the
  text is a near miss (``hlep``, ``staus``, ``later tmes``).

Near misses are measured with `rapidfuzz` (optimal string alignment distance, so a swap
of two letters counts once); it is imported only when a near miss is looked for, so the
cost of starting the console does not grow.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

from msgspec import Struct

from flows.receipts import PREFIXES, looks_like_receipt

# What a word (or a short phrase) names, said as the whole message. Keys are the commands
# of the entry tier; the phrases are compared after `normal` (lower case, no accents, no
# punctuation).
COMMAND_WORDS: dict[str, tuple[str, ...]] = {
    "help": (
        "help",
        "help me",
        "what can you do",
        "commands",
        "how does this work",
        # Spanish
        "ayuda",
        "ayudeme",
        "ayudame",
        "necesito ayuda",
        "que puede hacer",
        "como funciona",
    ),
    "menu": (
        "menu",
        "main menu",
        "home",
        "start over",
        "options",
        "show menu",
        # Spanish ("menú" is "menu" once accents are dropped)
        "menu principal",
        "inicio",
        "opciones",
        "empezar de nuevo",
        "volver al menu",
    ),
    "agent": (
        "agent",
        "person",
        "human",
        "operator",
        "representative",
        "real person",
        # Spanish
        "hablar con una persona",
        "una persona",
        "persona",
        "agente",
        "operador",
        "representante",
        "hablar con alguien",
        "persona real",
    ),
    "back": (
        "back",
        "go back",
        "previous",
        "previous step",
        "return",
        # Spanish
        "atras",
        "volver",
        "regresar",
        "paso anterior",
    ),
    "mine": (
        "mine",
        "my requests",
        "my request",
        "my callback",
        "my callbacks",
        "my appointment",
        "my appointments",
        "my bookings",
        # Spanish
        "mis solicitudes",
        "mi solicitud",
        "mi llamada",
        "mis llamadas",
        "mi cita",
        "mis citas",
    ),
}

# Words that choose a language, said as the whole message: /language <code>. A Spanish
# greeting is taken as a wish to be answered in Spanish.
LANGUAGE_WORDS: dict[str, str] = {
    "espanol": "es",
    "en espanol": "es",
    "hablo espanol": "es",
    "habla espanol": "es",
    "spanish": "es",
    "in spanish": "es",
    "hola": "es",
    "buenos dias": "es",
    "buenas tardes": "es",
    "buenas noches": "es",
    "english": "en",
    "in english": "en",
    "ingles": "en",
    "en ingles": "en",
    "i speak english": "en",
    "hablo ingles": "en",
}

# Words that name a command only when no offered button is named by them: "status" on the
# main menu is its "Check a case status" item; elsewhere it is /status.
WEAK_COMMAND_WORDS: dict[str, tuple[str, ...]] = {
    "status": (
        "status",
        "case status",
        "check status",
        "check my case",
        "my case",
        "check case",
        # Spanish
        "estado",
        "estado de mi caso",
        "estado del caso",
        "mi caso",
        "consultar mi caso",
    ),
}
# Words people use for a menu item whose label says it differently.
SYNONYMS: dict[str, str] = {
    "fingerprints": "biometrics",
    "fingerprint": "biometrics",
    "reschedule appointment": "reschedule",
    "hours": "hours",
    # Spanish words for English labels (a Spanish label holds them already)
    "reprogramar": "reschedule",
    "reprogramar cita": "reschedule",
    "reprogramar biometricos": "reschedule",
    "biometricos": "biometrics",
    "huellas": "biometrics",
    "horario": "hours",
}

_NOT_WORD = re.compile(r"[^a-z0-9 ]+")
_QUOTES = "\"'`«»“”‘’"
# A receipt inside a sentence: a known prefix, then digits with the separators people type.
_RECEIPT_IN_SENTENCE = re.compile(
    r"(?<![A-Za-z0-9])(" + "|".join(PREFIXES) + r")[\s\-_./]*([0-9Oo][0-9Oo\s\-_./]{7,20}[0-9Oo])",
    re.IGNORECASE,
)
# An A-number inside a sentence: A (or A#, A-), then 7 to 9 digits in groups.
_A_NUMBER_IN_SENTENCE = re.compile(
    r"(?<![A-Za-z0-9])A[\s\-#.]*((?:\d[\s\-.]?){6,8}\d)(?![0-9])", re.IGNORECASE
)


class Reading(Struct, frozen=True):
    """What typed words name: a command (with its arguments) or an offered button."""

    command: str | None = None
    args: str = ""
    button: str | None = None


@lru_cache(maxsize=1024)
def normal(text: str) -> str:
    """`text` compared as words: lower case, accents and punctuation dropped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", plain.replace("'", "")).split())


def unquoted(text: str) -> str:
    return text.strip().strip(_QUOTES).strip()


@lru_cache(maxsize=512)
def receipt_in(text: str) -> str | None:
    """The receipt number meant in `text`, as typed: the whole text (without quotes) when
    it is one, else one with a known prefix inside a sentence; None when there is none.
    The result may be malformed (a digit short): reading it says what is wrong."""
    whole = unquoted(text)
    if looks_like_receipt(whole):
        return whole
    found = [m for m in _RECEIPT_IN_SENTENCE.finditer(text) if _digits(m.group(2)) >= 5]
    if len(found) != 1:
        return None  # none, or several: not guessed
    return found[0].group(0).strip(" -_./")


def a_number_in(text: str) -> str | None:
    """An A-number inside a sentence (``my A-number is A123456789``), as typed."""
    found = list(_A_NUMBER_IN_SENTENCE.finditer(text))
    return "A" + found[0].group(1) if len(found) == 1 else None


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def label_for(text: str, labels: Mapping[str, str]) -> str | None:
    """The data of the offered button whose label `text` is (case, accents and punctuation
    aside), or None."""
    if not labels:
        return None
    wanted = normal(text)
    if not wanted:
        return None
    found = [data for data, label in labels.items() if normal(label) == wanted]
    return found[0] if len(found) == 1 else None


def read(text: str, labels: Mapping[str, str]) -> Reading | None:
    """What the words of `text` name, in this order: a command word, an offered button
    they name, a weak command word, then the closest of all of these to a near miss."""
    words = normal(text)
    if not words or len(words) > 40:
        return None
    language = LANGUAGE_WORDS.get(words)
    if language is not None:
        return Reading(command="language", args=language)
    typed, words = words, SYNONYMS.get(words, words)
    command = _COMMAND_BY_PHRASE.get(words)
    if command is not None:
        return Reading(command=command)
    # the words as typed first ("reprogramar" in a Spanish label), then their synonym
    button = _button_named(typed, labels) if typed != words else None
    button = button or _button_named(words, labels)
    if button is not None:
        return Reading(button=button)
    command = _WEAK_BY_PHRASE.get(words)
    if command is not None:
        return Reading(command=command)
    return _near_miss(words, labels)


_COMMAND_BY_PHRASE = {p: c for c, phrases in COMMAND_WORDS.items() for p in phrases}
_WEAK_BY_PHRASE = {p: c for c, phrases in WEAK_COMMAND_WORDS.items() for p in phrases}


def _button_named(words: str, labels: Mapping[str, str]) -> str | None:
    """The one offered button whose label holds all of `words` (whole words, at least four
    letters typed), or None."""
    if len(words) < 4 or len(words.split()) > 3:
        return None
    wanted = f" {words} "
    found = [data for data, label in labels.items() if wanted in f" {normal(label)} "]
    return found[0] if len(found) == 1 else None


def _allowed_distance(length: int) -> int:
    """How many typos a word of `length` letters may have and still be recognised."""
    if length < 4:
        return 0
    return 1 if length <= 6 else 2 if length <= 12 else 3


def _near_miss(words: str, labels: Mapping[str, str]) -> Reading | None:
    limit = _allowed_distance(len(words))
    if limit == 0:
        return None
    from rapidfuzz.distance import OSA  # a near miss is rare: imported when looked for

    candidates: dict[str, Reading] = {}
    for phrase, command in (*_COMMAND_BY_PHRASE.items(), *_WEAK_BY_PHRASE.items()):
        candidates.setdefault(phrase, Reading(command=command))
    for data, label in labels.items():
        name = normal(label)
        candidates.setdefault(name, Reading(button=data))
        for word in name.split():
            if len(word) >= 5:
                candidates.setdefault(word, Reading(button=data))
    best, best_distance = None, limit + 1
    for phrase, reading in candidates.items():
        if abs(len(phrase) - len(words)) > limit:
            continue
        distance = OSA.distance(words, phrase, score_cutoff=limit)
        if distance < best_distance:
            best, best_distance = reading, distance
        elif distance == best_distance and reading != best:
            best = None  # two different things are equally close: not guessed
    return best if best_distance <= limit else None
