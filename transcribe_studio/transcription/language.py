"""Which languages a job hears and writes, whether its model can, and which language a transcript is in.

A person may say which language is spoken and which to write (``--language``, ``--translate-to``): a model told by
its prompt (:class:`..models.spec.LanguagePrompt`) must be told the first and writes what its prompt
allows; any other hears its own languages and writes what it hears. :func:`check_choice` refuses what a model
cannot do before anything runs.

A transcript's language is the one its model was told to write, else the one the person said was spoken, else the
model's own when it hears only one, else identified from the text.

Identification is py3langid's (a kept, offline library: langid.py's model, 97 languages), narrowed to the
languages the model hears, which makes it far more reliable. On a sentence or more it is right almost always
(German, Polish, Spanish, Czech, Finnish greetings of 20-40 characters: each found with a probability above
0.98); on a few words it is a guess, so below :data:`MIN_CHARACTERS` characters, or a probability under
:data:`MIN_PROBABILITY`, no language is recorded rather than a wrong one.
"""

from __future__ import annotations

from functools import cache

from ..errors import LanguageChoiceError

MIN_CHARACTERS = 12
MIN_PROBABILITY = 0.8
# The languages' names in English, for people (documents, the page); the codes are ISO 639-1.
NAMES = {"bg": "Bulgarian", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English",
         "es": "Spanish", "et": "Estonian", "fi": "Finnish", "fr": "French", "hr": "Croatian", "hu": "Hungarian",
         "it": "Italian", "lt": "Lithuanian", "lv": "Latvian", "mt": "Maltese", "nl": "Dutch", "pl": "Polish",
         "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sv": "Swedish",
         "uk": "Ukrainian"}


def language_of(text: str, heard: tuple[str, ...]) -> str:
    """The language code of ``text``, which a model hearing ``heard`` (codes) wrote; "" when it cannot be told."""
    if len(heard) == 1:
        return heard[0]
    if len(text.strip()) < MIN_CHARACTERS or not heard:
        return ""
    code, probability = _identifier(heard).classify(text)
    return code if probability >= MIN_PROBABILITY else ""


def name_of(code: str) -> str:
    return NAMES.get(code, code)


@cache
def _identifier(languages: tuple[str, ...]):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def check_choice(spec, language: str = "", translate_to: str = "") -> None:
    """Raise a :class:`LanguageChoiceError` saying what to choose instead when ``spec``'s model cannot hear
    ``language`` ("": let it find the language) or write ``translate_to`` ("": what it hears)."""
    for code in (language, translate_to):
        if code and code not in NAMES:
            raise LanguageChoiceError(f"{code!r} is not a language the app knows.",
                                      next_steps=f"Give a two-letter code: {', '.join(sorted(NAMES))}.")
    if language and language not in spec.languages:
        raise LanguageChoiceError(f"{spec.label} does not hear {name_of(language)}: it hears {_names(spec.languages)}.",
                                  next_steps=_models_that("hear " + name_of(language),
                                                          lambda other: language in other.languages))
    if spec.prompt is None:
        hears = language or (spec.languages[0] if len(spec.languages) == 1 else "")
        if translate_to and translate_to != hears:
            raise LanguageChoiceError(f"{spec.label} does not translate: it writes what it hears.",
                                      next_steps=_models_that("translate", lambda other: other.prompt is not None))
        return
    if not language:
        raise LanguageChoiceError(f"{spec.label} must be told the recording's language.",
                                  next_steps=f"Choose the language spoken ({_names(spec.languages)}).")
    if translate_to and translate_to not in spec.prompt.writes(language):
        into = [code for code in spec.prompt.writes(language) if code != language]
        raise LanguageChoiceError(f"{spec.label} translates {name_of(language)} only into {_names(into)}, not into "
                                  f"{name_of(translate_to)}.",
                                  next_steps="Choose one of those, or no translation.")


def written(spec, language: str, translate_to: str, text: str) -> str:
    """The language code of a transcript: what the model was told to write, else what the person said was spoken,
    else :func:`language_of` its text."""
    if translate_to and spec.prompt is not None:
        return translate_to
    return language or language_of(text, spec.languages)


def _names(codes) -> str:
    return ", ".join(name_of(code) for code in codes)


def _models_that(what: str, can) -> str:
    from ..models import transcribers

    able = [spec.label for spec in transcribers() if can(spec)]
    return f"Choose a model that can {what}: {', '.join(able)}." if able else f"No model here can {what}."
