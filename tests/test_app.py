"""transcribe_ui.py: startup validation, and the page served on 127.0.0.1 driven by gradio_client."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import assert_serves_on_localhost_only
from transcribe_studio.app import startup
from transcribe_studio.models import CANARY, PARAKEET, ModelState, get
from transcribe_studio.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(tmp_path, **extra) -> dict:
    """The app's environment: its outputs (History) and log under ``tmp_path``, never the checkout's ``outputs/``
    (whose half-written entries the app's startup clean-up would delete) and ``logs/``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(tmp_path / "hf_home"), HF_HUB_OFFLINE="1", STUDIO_LOG_FILE=str(tmp_path / "app.log"),
               STUDIO_OUTPUT_DIR=str(tmp_path / "outputs"), PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def test_a_missing_parakeet_file_stops_startup_with_the_setup_command(tmp_path):
    missing = tmp_path / "local_models" / "parakeet.nemo"
    result = subprocess.run([sys.executable, "transcribe_ui.py"], cwd=ROOT, capture_output=True, text=True,
                            env=app_env(tmp_path, PARAKEET_NEMO=str(missing)), timeout=120)
    assert result.returncode == 2
    assert str(missing) in result.stderr and "`python setup_local_models.py`" in result.stderr
    assert "Traceback" not in result.stderr and "canary.nemo" not in result.stderr + result.stdout


def test_the_seed_revision_stops_startup(tmp_path, tiny_parakeet):
    result = subprocess.run([sys.executable, "transcribe_ui.py", "--canary-revision",
                             "2399591399e4e6438fa7804f2f1f1660"], cwd=ROOT, capture_output=True, text=True,
                            env=app_env(tmp_path, PARAKEET_NEMO=str(tiny_parakeet)), timeout=120)
    assert result.returncode == 2 and "md5" in result.stderr


def test_startup_says_where_canary_comes_from(settings, tmp_path):
    cached = startup.validate(settings)
    assert any("nvidia/canary-qwen-2.5b" in line and settings.canary_revision in line and "loads offline" in line
               for line in cached)
    empty = Settings(parakeet_path=settings.parakeet_path, hf_cache_dir=tmp_path / "empty")
    line = get(CANARY).describe_at_startup(empty)
    assert "NOT cached" in line and "HF_HUB_OFFLINE" in line  # the suite runs offline


def test_the_app_serves_on_localhost_only(tmp_path, tiny_parakeet, pristine_canary_cache):
    port = free_port()
    process = subprocess.Popen([sys.executable, "transcribe_ui.py", "--port", str(port)], cwd=ROOT,
                               env=app_env(tmp_path, PARAKEET_NEMO=str(tiny_parakeet),
                                           HF_HUB_CACHE=str(pristine_canary_cache)),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        # The URL is printed once launch() has returned; the port accepts a little earlier, so wait for the line.
        deadline = time.time() + 120
        while not any(f"http://127.0.0.1:{port}" in line for line in lines):
            assert process.poll() is None and time.time() < deadline, "".join(lines)
            time.sleep(0.5)
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        if listening:  # `ss` may be absent; the connection above already proved the port
            local_addresses = [line.split()[3] for line in listening.splitlines()]
            assert local_addresses == [f"127.0.0.1:{port}"]
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=30)
    out = "".join(lines)
    assert "loads offline" in out
    assert "share=True" not in out and "Traceback" not in out  # no Gradio hint to publish the app
    assert (tmp_path / "outputs").is_dir()  # its outputs went to STUDIO_OUTPUT_DIR, not the checkout's outputs/


@pytest.fixture
def served_app(settings, shared_cache, tmp_path):
    import dataclasses

    settings = dataclasses.replace(settings, output_dir=tmp_path / "outputs")
    shared_cache.settings = settings
    from transcribe_studio.app.handlers import build_app, launch

    app = build_app(settings, shared_cache)
    port = free_port()
    launch(app, settings, port, prevent_thread_lock=True, quiet=True)
    assert_serves_on_localhost_only(app, port)
    yield app, f"http://127.0.0.1:{port}/"
    app.close()


def transcribe(client, files, model=PARAKEET, formats=("txt", "srt")):
    from gradio_client import handle_file

    text, segments, downloads, files_table, message, status = client.predict(
        [handle_file(str(f)) for f in files], None, model, list(formats), api_name="/transcribe")
    return text, segments, downloads, files_table, message, status


def test_transcribe_through_the_api_and_a_bad_file_keeps_the_app_serving(served_app, wav_file, tmp_path):
    from gradio_client import Client

    app, url = served_app
    client = Client(url, verbose=False)
    text, segments, downloads, table, message, status = transcribe(client, [wav_file])
    assert text and "1 of 1 file(s) transcribed" in message
    assert segments["data"] and segments["headers"] == ["start", "end", "text"]
    assert "Parakeet-TDT-0.6B-v2**: loaded" in status and "CPU" in status
    assert sorted(Path(d).name for d in downloads) == ["speech.json", "speech.srt", "speech.txt"]
    entry = app.studio_history.entries()[0]
    assert entry.source == "speech.wav" and (entry.audio is not None)
    assert (entry.files[0].parent / "speech.srt").read_text().startswith("1\n")

    bad = tmp_path / "clip.m4a"
    bad.write_bytes(b"\x00" * 4096)
    text, _, downloads, table, message, _ = transcribe(client, [bad, wav_file])
    assert "1 of 2 file(s) transcribed" in message and "clip.m4a" in message and "What to do" in message
    assert [row[:2] for row in table["data"]] == [["clip.m4a", "failed"], ["speech.wav", "done"]]
    assert sorted(Path(d).name for d in downloads) == ["speech.json", "speech.srt", "speech.txt"]
    assert len(app.studio_history.entries()) == 2  # the failed file left no entry

    text, *_ = transcribe(client, [wav_file])
    assert text  # still serving
    assert app.studio_cache.load_count[PARAKEET] == 1
    assert app.studio_cache.status(PARAKEET).state is ModelState.LOADED


def test_the_page_documents_the_hybrid_loading(settings):
    from transcribe_studio.app.text import how_to_use, model_descriptions, privacy_and_performance

    about = model_descriptions(settings)
    assert "restore_from" in about and "SALM.from_pretrained" in about and settings.canary_revision in about
    assert "ModelPT" in about and ".nemo" in about and "stays in memory" in about
    assert "127.0.0.1" in privacy_and_performance() and "analytics" in privacy_and_performance()
    assert "Transcribe" in how_to_use()
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_the_help_describes_each_registered_model_from_its_spec(settings, registered):
    import dataclasses

    from transcribe_studio.app.text import model_descriptions

    registered(dataclasses.replace(get(CANARY), key="extra", label="Extra-Model",
                                   description=lambda s: f"**Extra-Model** reads {s.output_dir}."))
    registered(dataclasses.replace(get(CANARY), key="quiet", label="Quiet-Model", description=None))
    about = model_descriptions(settings)
    assert about.index(get(PARAKEET).label) < about.index(get(CANARY).label) < about.index("**Extra-Model**")
    assert f"reads {settings.output_dir}." in about and "Quiet-Model" not in about


def test_building_the_app_tidies_entries_a_crash_left(studio_settings, shared_cache):
    from transcribe_studio.app.handlers import build_app
    from transcribe_studio.outputs.history import HistoryStore
    from transcribe_studio.outputs.writers import write_outputs
    from transcribe_studio.transcription.transcript import Transcript

    store = HistoryStore(studio_settings.output_dir / "history")
    transcript = Transcript(text="hello", duration=1.0)
    done = store.open_entry("done.wav")
    write_outputs(transcript, "done.wav", done, ["json", "txt"])
    store.finish(done)
    crashed = store.open_entry("crashed.wav")  # the JSON written, the process gone before the TXT
    write_outputs(transcript, "crashed.wav", crashed, ["json"])
    fresh = store.open_entry("fresh.wav")  # another process may be writing it now
    long_ago = time.time() - 2 * 24 * 3600
    for path in (done, crashed, crashed / ".incomplete"):
        os.utime(path, (long_ago, long_ago))

    app = build_app(studio_settings, shared_cache)
    assert not crashed.exists() and fresh.is_dir() and done.is_dir()
    assert [e.id for e in app.studio_history.entries()] == [done.name]


def test_the_page_sends_no_analytics_and_hugging_face_no_telemetry(settings):
    import huggingface_hub.constants

    from transcribe_studio.app import handlers

    app = handlers.build_app(settings)
    assert app.analytics_enabled is False
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    # Set by the package before huggingface_hub was imported (it reads the variable once, at import;
    # a Blocks without analytics sets it again, to "True", too late for that).
    assert os.environ["HF_HUB_DISABLE_TELEMETRY"].upper() in {"1", "ON", "YES", "TRUE"}
    assert huggingface_hub.constants.HF_HUB_DISABLE_TELEMETRY is True


def test_save_edit_and_rename_speakers_through_the_api(served_app, wav_file):
    from gradio_client import Client

    app, url = served_app
    client = Client(url, verbose=False)
    transcribe(client, [wav_file])
    entry = app.studio_history.entries()[0]
    texts = [s.text for s in app.studio_history.load(entry.id)[0].segments]
    texts[0] = "Edited words here."
    text, segments, message = client.predict(entry.id, texts, api_name="/save_edit")
    assert message.startswith("Edits saved") and text.startswith("Edited words here.")
    assert segments[0][2] == "Edited words here."
    assert app.studio_history.load(entry.id)[0].segments[0].text == "Edited words here."
    assert "Edited words here." in (entry.files[0].parent / "speech.txt").read_text(encoding="utf-8")

    # A refused edit or rename says why in one message and changes nothing.
    _, _, message = client.predict(entry.id, ["only one"] * (len(texts) + 1), api_name="/save_edit")
    assert message.startswith("**The edit could not be saved.**") and "What to do" in message
    _, _, message = client.predict(entry.id, "Speaker 1 = Dana", api_name="/rename_speakers")
    assert "The speakers could not be renamed" in message and "What to do" in message
    assert app.studio_history.load(entry.id)[0].segments[0].text == "Edited words here."
