"""Named errors a user can act on, and one classifier that maps any exception to them.

Loading a model touches the disk, the network, huggingface_hub, transformers,
NeMo and torch, each with its own exception types. The UI and the CLI should not
care: they call :func:`classify` and show ``error.user_message()``, a short
paragraph that says what happened and what to do. The traceback goes to the log.

Callers catch by meaning, e.g. ``except NeedsNetworkError``.
"""

from __future__ import annotations

import errno
import logging

log = logging.getLogger(__name__)

# ``extra=`` for a log record meant for the log file only: the caller shows the user the message itself,
# so the console must not print it a second time (see :mod:`.logs`).
FILE_ONLY = {"studio_file_only": True}


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


class InvalidRevisionError(ConfigurationError):
    kind = "invalid_revision"
    title = "Invalid model revision"


class ModelFileError(StudioError):
    kind = "model_file"
    title = "Model file missing or damaged"


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
        "Check the commit (CANARY_REVISION / QWEN_REVISION or the matching flag); unset it to use the "
        "tested default."
    )


class DiskError(StudioError):
    kind = "disk"
    title = "Disk problem"
    default_next_steps = (
        "Free some disk space or choose a writable location (HF_HOME / HF_HUB_CACHE for the model "
        "cache, --parakeet-nemo for the Parakeet file), then try again."
    )


def folder_error(exc: OSError, folder, flag: str) -> DiskError:
    """A folder the app writes to failed (full, read-only, not creatable): name it and the flag that moves it."""
    full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))
    if full:
        what, fix = f"The disk is full ({folder} could not be written)", "Free some space on that disk"
    elif exc.errno == errno.ENOENT:
        what, fix = f"{folder} was removed while the app was using it", "Leave the output folder in place"
    else:
        what = f"{folder} cannot be created or written to ({exc.strerror or exc})"
        fix = "Fix that folder's permissions"
    error = DiskError(f"{what}.", next_steps=f"{fix}, or choose another folder with {flag}, then try again.")
    error.__cause__ = exc
    return error


class OutOfMemoryError(StudioError):
    kind = "out_of_memory"


class GPUOutOfMemoryError(OutOfMemoryError):
    kind = "gpu_oom"
    title = "Out of GPU memory"
    default_next_steps = (
        "Unload the other model or close other programs using the GPU; give Parakeet shorter passes with "
        "--parakeet-pass-seconds (e.g. 120); if other programs share the card, tell the app how much it may "
        "use with --gpu-memory-gb; or run on the CPU with --device cpu (slower)."
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
        "Close other programs and try again. Loading on the CPU, Canary-Qwen needs about 11 GB of free "
        "RAM and Parakeet about 5 GB (onto a GPU, Canary-Qwen under 1 GB)."
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


# --- classification -------------------------------------------------------

def _chain(exc: BaseException):
    """The exception and everything it was raised from, outermost first."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _type_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


# Connection failures from httpx/httpx2/requests/urllib3, recognised by name so
# that we need not import every HTTP stack huggingface_hub might use.
_CONNECTION_NAMES = {"ConnectError", "ConnectTimeout", "ReadTimeout", "TimeoutException", "NetworkError",
                     "ConnectionError", "MaxRetryError", "NewConnectionError", "ProxyError", "RemoteProtocolError",
                     "gaierror"}


# CUDA errors after which every later call on the context fails too ("sticky" errors, CUDA
# programming guide): the process must restart. Matched in the message torch gives.
STICKY_CUDA_ERRORS = ("illegal memory access", "illegal address", "unspecified launch failure",
                      "device-side assert", "misaligned address", "an illegal instruction")


def _classify_one(exc: BaseException, context: str) -> StudioError | None:
    names = _type_names(exc)
    text = str(exc)
    where = f" while {context}" if context else ""

    if isinstance(exc, StudioError):
        return exc
    # huggingface_hub, most specific first (GatedRepoError subclasses RepositoryNotFoundError).
    if "OfflineModeIsEnabled" in names or "LocalEntryNotFoundError" in names:
        return NeedsNetworkError(
            f"A file the model needs is not in the local Hugging Face cache and the network is off "
            f"(HF_HUB_OFFLINE) or unreachable{where}. Details: {text}")
    if "GatedRepoError" in names:
        return AuthenticationError(f"The repository is gated and this machine is not authorised{where}.")
    if "RepositoryNotFoundError" in names:
        return AuthenticationError(
            f"The repository was not found, or it is private and no valid token was sent{where}.")
    if "RevisionNotFoundError" in names or "is not a valid git identifier" in text:
        return RevisionNotFoundError(f"The Hub does not know the requested commit{where}. Details: {text}")
    if "EntryNotFoundError" in names:
        return RevisionNotFoundError(
            f"A file the model needs does not exist at the requested commit{where}. Details: {text}")
    if "HfHubHTTPError" in names:
        status = _http_status(exc)
        if status in (401, 403):
            return AuthenticationError(f"The Hub answered HTTP {status}{where}.")
        return HubHTTPError(f"The Hub answered with an error{where}: {text}")
    if names & _CONNECTION_NAMES or isinstance(exc, (ConnectionError, TimeoutError)):
        return HubUnreachableError(f"Could not connect to the Hugging Face Hub{where}: {text}")

    # Memory, and GPU failures nothing but a restart mends.
    if any(sign in text for sign in STICKY_CUDA_ERRORS):
        return GPUFailedError(f"The GPU reported a fatal error{where}: {text}")
    if "OutOfMemoryError" in names or "CUDA out of memory" in text or "CUDA error: out of memory" in text:
        return GPUOutOfMemoryError(f"The GPU ran out of memory{where}.")
    if isinstance(exc, MemoryError) or "DefaultCPUAllocator: can't allocate memory" in text:
        return RAMOutOfMemoryError(f"The computer ran out of memory{where}.")

    # Dependencies.
    if isinstance(exc, ImportError):
        missing = getattr(exc, "name", None) or text
        return MissingDependencyError(f"Python could not import '{missing}'{where}.")

    # Disk.
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return DiskError(f"The disk is full{where} ({getattr(exc, 'filename', None) or text}).")
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DiskError(f"A file or folder is not writable or readable{where}: "
                         f"{getattr(exc, 'filename', None) or text}.")

    # Model archives: tar, zip (torch checkpoints) and safetensors headers.
    if {"ReadError", "CompressionError", "BadZipFile", "UnpicklingError", "SafetensorError", "EOFError",
            "HeaderTooLarge"} & names or "PytorchStreamReader failed" in text:
        # Not the library's text: torch's says to retry with weights_only=False, unsafe for a damaged file.
        return ModelFileError(f"A model file is damaged or incomplete{where} ({type(exc).__name__}).",
                              next_steps="Run `python setup_local_models.py` to download and verify it again.")

    # Audio decoders.
    if names & {"InvalidDataError", "LibsndfileError", "FFmpegError"}:
        return BadAudioError(f"The file could not be decoded as audio{where}: {text}")
    return None


def classify(exc: BaseException, context: str = "") -> StudioError:
    """Map any exception to a :class:`StudioError`, looking through its cause chain.

    ``context`` is a few words such as "loading Canary-Qwen" that go into the message.
    """
    for link in _chain(exc):
        found = _classify_one(link, context)
        if found is not None:
            if found is not exc:
                found.__cause__ = exc
            return found
    where = f" while {context}" if context else ""
    error = StudioError(f"{type(exc).__name__}{where}: {exc}")
    error.__cause__ = exc
    return error


def report(exc: BaseException, context: str = "") -> StudioError:
    """Classify, log the full traceback to the log file, and return the error for display.

    The caller shows ``error.user_message()`` (the page, the CLI's summary, setup's FAILED line), so the
    record is kept off the console: each failure is printed once.
    """
    error = classify(exc, context)
    log.error("%s [%s]", error.user_message(), error.kind, exc_info=exc, extra=FILE_ONLY)
    return error
