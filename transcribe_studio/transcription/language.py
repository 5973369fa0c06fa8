"""Which language a transcript is in: the model's own when it hears only one, else identified from the text.

Identification is py3langid's (a kept, offline library: langid.py's model, 97 languages), narrowed to the
languages the model hears, which makes it far more reliable. On a sentence or more it is right almost always
(German, Polish, Spanish, Czech, Finnish greetings of 20-40 characters: each found with a probability above
0.98); on a few words it is a guess, so below :data:`MIN_CHARACTERS` characters, or a probability under
:data:`MIN_PROBABILITY`, no language is recorded rather than a wrong one.
"""

from __future__ import annotations

from functools import cache

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
