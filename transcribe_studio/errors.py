"""Every named error of the app: what a user can act on, each with its title and next steps.

Callers catch by meaning (``except NeedsNetworkError``, ``except BadAudioError``
for every way a media file can be unusable), and show ``error.user_message()``:
a short paragraph that says what happened and what to do. Built-in bases where
one fits (a :class:`DiskError` is an ``OSError``). No logic here: turning any
exception into one of these is :mod:`.classify`'s job.
"""

from __future__ import annotations


class StudioError(Exception):
    """Base class: a short message and the next steps for the user."""

    kind = "unexpected"
    title = "Something unexpected went wrong"
    default_next_steps = "See the log for the full details; if it keeps happening, report it with the log attached."

    def __init__(self, message: str, *, next_steps: str | None = None):
        super().__init__(message)
        self.message = message
        self.next_steps = next_steps or self.default_next_steps

    def user_message(self) -> str:
        return f"{self.title}: {self.message} What to do: {self.next_steps}"

    def __str__(self) -> str:
        return self.user_message()


class ConfigurationError(StudioError):
    kind = "configuration"
    title = "Invalid setting"
    default_next_steps = "Fix the setting (flag or environment variable) and start again."


class LanguageChoiceError(ConfigurationError, ValueError):
    """A model cannot take the languages asked for: told a language it does not hear, or a translation it does not
    make (said before anything runs)."""

    kind = "language_choice"
    title = "The model cannot do that"
    default_next_steps = "Choose another language, or a model that can (the Help tab lists each model's languages)."


class InvalidRevisionError(ConfigurationError):
    kind = "invalid_revision"
    title = "Invalid model revision"


class ModelFileError(StudioError):
    kind = "model_file"
    title = "Model file missing or damaged"


class NodeNotReadyError(StudioError):
    """A machine of a Ray cluster lacks what an archive run needs: the models, NeMo, or the destination."""

    kind = "node_not_ready"
    title = "A machine of the cluster is not ready"
    default_next_steps = (
        "Each machine needs the app's requirements and the model files: run `python setup_local_models.py` on it, "
        "or point the model files' variables and HF_HOME at storage every machine shares (the same paths on "
        "each); the destination must be storage they all share too (a shared folder at the same path, or an "
        "object store). docs/ARCHIVE.md says how."
    )


class NetworkError(StudioError):
    """Anything that needs the Hub and did not get it."""

    kind = "network"


class NeedsNetworkError(NetworkError):
    kind = "needs_network_once"
    title = "Model not downloaded yet"
    default_next_steps = (
        "Connect to the internet once and run `python setup_local_models.py` (or load the model again "
        "with HF_HUB_OFFLINE unset); after that the model loads from the local cache with no network."
    )


class HubUnreachableError(NetworkError):
    kind = "hub_unreachable"
    title = "Hugging Face Hub unreachable"
    default_next_steps = (
        "No network connection to the Hugging Face Hub: connect to the internet (check the proxy, "
        "HTTPS_PROXY, or HF_ENDPOINT if you set one), then try again. Models already downloaded keep "
        "working offline."
    )


class HubHTTPError(NetworkError):
    kind = "hub_http"
    title = "Hugging Face Hub error"
    default_next_steps = "Try again in a few minutes; if it persists, check https://status.huggingface.co."


class AuthenticationError(NetworkError):
    kind = "auth"
    title = "Access to the model repository was refused"
    default_next_steps = (
        "Accept the model's licence on its Hugging Face page if it is gated, then log in with "
        "`hf auth login` or set HF_TOKEN to a token with read access."
    )


class RevisionNotFoundError(NetworkError):
    kind = "revision_not_found"
    title = "Model revision not found"
    default_next_steps = (
        "Check the model's commit setting (its *_REVISION variable or --*-revision flag); unset it to use the "
        "tested default."
    )


class DiskError(StudioError, OSError):
    kind = "disk"
    title = "Disk problem"
    default_next_steps = (
        "Free some disk space or choose a writable location (HF_HOME / HF_HUB_CACHE for the model "
        "cache, the model's own file setting for a local model file), then try again."
    )


class OutOfMemoryError(StudioError):
    kind = "out_of_memory"


class GPUOutOfMemoryError(OutOfMemoryError):
    kind = "gpu_oom"
    title = "Out of GPU memory"
    default_next_steps = (
        "Unload the other model or close other programs using the GPU; if other programs share the card, tell "
        "the app how much it may use with --gpu-memory-gb; or run on the CPU with --device cpu (slower)."
    )


class GPUFailedError(StudioError):
    """A CUDA error that leaves the GPU unusable for this process (an illegal memory access, a failed launch)."""
    kind = "gpu_failed"
    title = "The GPU stopped working for this app"
    default_next_steps = (
        "Restart the app (the GPU state of this process cannot be repaired). If it happens again, update "
        "the NVIDIA driver, or run on the CPU with --device cpu."
    )


class RAMOutOfMemoryError(OutOfMemoryError):
    kind = "ram_oom"
    title = "Out of system memory (RAM)"
    default_next_steps = (
        "Close other programs and try again; the Help tab says how much memory each model needs."
    )


class MissingDependencyError(StudioError):
    kind = "missing_dependency"
    title = "A required Python package is missing"
    default_next_steps = "Install the requirements with `pip install -r requirements.txt` in the app's environment."


class BadAudioError(StudioError):
    kind = "bad_audio"
    title = "The audio could not be used"
    default_next_steps = "Check that the file plays in a media player, or convert it to WAV, MP3 or FLAC and try again."


# One subclass per way a media file can be unusable (raised by media/decode.py); catch
# BadAudioError for all of them. Each message names the file.

class MediaNotFoundError(BadAudioError):
    kind = "media_not_found"
    title = "File not found"
    default_next_steps = "Choose the file again; it may have been moved, renamed or deleted."


class EmptyMediaError(BadAudioError):
    kind = "empty_media"
    title = "The file is empty"
    default_next_steps = "The copy, download or recording probably failed; get the file again."


class MediaTooLargeError(BadAudioError):
    kind = "media_too_large"
    title = "File too large"
    default_next_steps = (
        "Raise the size limit in the settings, or extract the audio track first (for example "
        "`ffmpeg -i video.mp4 -vn -c:a copy audio.m4a`) and transcribe that smaller file."
    )


class NotMediaError(BadAudioError):
    kind = "not_media"
    title = "Not an audio or video file"
    default_next_steps = "Choose an audio or video file, for example WAV, MP3, M4A, FLAC, OGG, MP4, MKV, MOV or WebM."


class NoAudioTrackError(BadAudioError):
    kind = "no_audio_track"
    title = "No audio track"
    default_next_steps = (
        "Choose a file that contains sound; for a video, check that it plays with sound, or export it "
        "again with its audio track."
    )


class UnsupportedCodecError(BadAudioError):
    kind = "unsupported_codec"
    title = "Audio format not supported"
    default_next_steps = "Convert the file to WAV, MP3 or FLAC with another program and try again."


class CorruptMediaError(BadAudioError):
    kind = "corrupt_media"
    title = "Damaged or incomplete file"
    default_next_steps = (
        "Copy or download the file again (it may have been cut short), or check that it plays to the "
        "end in a media player. To transcribe only the part that is there, re-save it with a converter "
        "(for example `ffmpeg -i damaged.mp3 repaired.wav`) and use the new file."
    )


class AudioTooShortError(BadAudioError):
    kind = "audio_too_short"
    title = "Audio too short"
    default_next_steps = "Choose a longer recording; a single word needs at least a few tenths of a second."


class SilentAudioError(BadAudioError):
    kind = "silent_audio"
    title = "The audio is silent"
    default_next_steps = (
        "Check that the right file was chosen and that the recording was not muted (it should be audible "
        "in a media player); if the sound is only very quiet, raise its volume and try again."
    )


class VocabularyError(ConfigurationError):
    kind = "vocabulary"
    title = "The names and terms list cannot be used"
    default_next_steps = ("Give the names and terms separated by commas (\"Dana Whitfield, Kubernetes, OKRs\"), "
                          "or a UTF-8 text file with one per line.")


class HistoryEntryNotFoundError(StudioError, LookupError):
    kind = "history_entry_not_found"
    title = "History entry not found"
    default_next_steps = "Refresh the History list; the entry may have been deleted or moved."


class EditError(StudioError):
    kind = "edit"
    title = "The edit could not be saved"
    default_next_steps = "Reload the entry from History and make the edit again."


class ReplaceError(EditError):
    kind = "replace"
    title = "Find and replace could not be done"
    default_next_steps = "Write the word or phrase to find, and what to put in its place, then try again."


class UndoError(EditError):
    kind = "undo"
    title = "Nothing was undone"
    default_next_steps = "Undo takes back the last Replace all, once."


class SegmentsError(EditError):
    kind = "segments"
    title = "The segments were not changed"
    default_next_steps = "Pick a word (click it under the player), then press Split or Merge again."


class RenameError(EditError):
    kind = "rename"
    title = "The speakers could not be renamed"
    default_next_steps = ("Write each as \"Speaker 1 = Dana\", separated by commas, naming a speaker by its label or "
                          "its name shown in the segments table, then press Rename speakers again.")


class SpeakersError(StudioError):
    """Speakers cannot be found for a History entry afterwards (refused before anything is written)."""

    kind = "find_speakers"
    title = "Speakers could not be found"
    default_next_steps = "Transcribe the recording again with \"Who spoke\" ticked."


class EmptyTranscriptError(StudioError):
    kind = "empty_transcript"
    title = "No transcript to work from"
    default_next_steps = "Transcribe a recording first (or paste its text), then try again."


class EmptyQuestionError(StudioError):
    kind = "empty_question"
    title = "No question"
    default_next_steps = "Type a question about the transcript, then ask again."


class EmptyAnswerError(StudioError):
    kind = "empty_answer"
    title = "The model gave no answer"
    default_next_steps = "Try again, or rephrase the question."


class Cancelled(Exception):
    """Raised from a progress callback to stop a job; files already finished stay saved. Not a failure."""
