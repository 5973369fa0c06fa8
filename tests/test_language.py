"""A transcript's language: the model's own when it hears one, else identified from the text (py3langid, among
the model's languages), never a guess on a few words; saved in the JSON, read back, named in documents."""

from transcribe_studio.outputs.history import read_transcript
from transcribe_studio.outputs.writers import get_writer, write_outputs
from transcribe_studio.transcription.language import language_of
from transcribe_studio.transcription.transcript import Segment, Transcript

EUROPEAN = ("bg", "hr", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "el", "hu", "it", "lv", "lt", "mt", "pl",
            "pt", "ro", "ru", "sk", "sl", "es", "sv", "uk")


def test_the_language_is_the_models_own_or_found_in_the_text_never_guessed_on_a_few_words():
    assert language_of("whatever it says", ("en",)) == "en"
    assert language_of("Guten Morgen, wie geht es Ihnen heute?", EUROPEAN) == "de"
    assert language_of("Dzień dobry, jak się masz? Pozdrowienia z Łodzi.", EUROPEAN) == "pl"
    assert language_of("Buenos días a todos, empezamos la reunión.", EUROPEAN) == "es"
    assert language_of("ok", EUROPEAN) == ""  # too short to tell
    # Only among the model's languages: German text from a model that hears German and Polish is German, and one
    # that hears no German never records it.
    assert language_of("Guten Morgen, wie geht es Ihnen?", ("de", "pl")) == "de"
    assert language_of("Guten Morgen, wie geht es Ihnen?", ("es", "pl")) != "de"


def test_the_language_is_saved_read_back_and_named_in_documents(tmp_path):
    transcript = Transcript("Guten Morgen.", [Segment(0.0, 1.0, "Guten Morgen.")], language="de")
    saved = write_outputs(transcript, "gruss.wav", tmp_path, ["json", "md"])
    json_path = next(p for p in saved if p.suffix == ".json")
    assert '"language": "de"' in json_path.read_text(encoding="utf-8")
    assert read_transcript(json_path).language == "de"
    assert "German" in next(p for p in saved if p.suffix == ".md").read_text(encoding="utf-8")
    assert '"language"' not in get_writer("json").render(Transcript("x"))  # unknown: left out, not ""
