"""One classifier that maps any exception to a named error of :mod:`.errors`, and the log of it.

Loading a model touches the disk, the network, huggingface_hub, transformers,
NeMo and torch, each with its own exception types. The UI and the CLI should not
care: they call :func:`report` (or :func:`classify`) and show
``error.user_message()``; the traceback goes to the log file.
"""

from __future__ import annotations

import errno
import logging

from .errors import (
    AuthenticationError,
    BadAudioError,
    DiskError,
    GPUFailedError,
    GPUOutOfMemoryError,
    HubHTTPError,
    HubUnreachableError,
    MissingDependencyError,
    ModelFileError,
    NeedsNetworkError,
    RAMOutOfMemoryError,
    RevisionNotFoundError,
    StudioError,
)

log = logging.getLogger(__name__)

# ``extra=`` for a log record meant for the log file only: the caller shows the user the message itself,
# so the console must not print it a second time (see :mod:`.logs`).
FILE_ONLY = {"studio_file_only": True}


def folder_error(exc: OSError, folder, flag: str, starting: bool = False) -> DiskError:
    """A folder the app writes to failed (full, read-only, not creatable): name it and the flag that moves it.

    ``starting``: checked before any work, so a folder that is not there could not be made (a path through a
    file or a system folder), not removed while in use."""
    full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))
    if full:
        what, fix = f"The disk is full ({folder} could not be written)", "Free some space on that disk"
    elif exc.errno == errno.ENOENT and starting:
        what, fix = f"{folder} cannot be created there ({exc.strerror or exc})", "Give a folder in a writable place"
    elif exc.errno == errno.ENOENT:
        what, fix = f"{folder} was removed while the app was using it", "Leave the output folder in place"
    else:
        what = f"{folder} cannot be created or written to ({exc.strerror or exc})"
        fix = "Fix that folder's permissions"
    error = DiskError(f"{what}.", next_steps=f"{fix}, or choose another folder with {flag}, then try again.")
    error.__cause__ = exc
    return error


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

    ``context`` is a few words such as "loading <model>" that go into the message.
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
