"""Each error kind the classifier names, from the real exception type its library raises."""

import errno
import importlib
import tarfile

import httpx2
import pytest
import torch
from huggingface_hub import errors as hf_errors

from transcribe_studio import errors
from transcribe_studio.classify import classify, report


def hub_response(status: int, error_code: str | None = None) -> httpx2.Response:
    request = httpx2.Request("GET", "http://127.0.0.1/nvidia/canary-qwen-2.5b/resolve/abc/config.json")
    headers = {"X-Error-Code": error_code} if error_code else {}
    return httpx2.Response(status, request=request, headers=headers)


def raised(fn):
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001
        return exc
    raise AssertionError("expected an exception")


CASES = [
    ("needs_network_once", lambda: hf_errors.LocalEntryNotFoundError("file not in cache and offline")),
    ("needs_network_once", lambda: hf_errors.OfflineModeIsEnabled("offline")),
    ("hub_unreachable", lambda: httpx2.ConnectError("[Errno 111] Connection refused")),
    ("hub_unreachable", lambda: httpx2.ReadTimeout("timed out")),
    ("hub_http", lambda: hf_errors.HfHubHTTPError("500 Server Error", response=hub_response(500))),
    ("auth", lambda: hf_errors.HfHubHTTPError("401 Client Error", response=hub_response(401))),
    ("auth", lambda: hf_errors.GatedRepoError("gated", response=hub_response(403, "GatedRepo"))),
    ("auth", lambda: hf_errors.RepositoryNotFoundError("no repo", response=hub_response(404, "RepoNotFound"))),
    ("revision_not_found",
     lambda: hf_errors.RevisionNotFoundError("no rev", response=hub_response(404, "RevisionNotFound"))),
    ("revision_not_found", lambda: OSError(
        "2399591399e4e6438fa7804f2f1f1660 is not a valid git identifier (branch name, tag name or commit id) "
        "that exists for this model name.")),  # transformers' wording for a revision it cannot resolve
    ("disk", lambda: OSError(errno.ENOSPC, "No space left on device", "/cache/blob.incomplete")),
    ("disk", lambda: PermissionError(errno.EACCES, "Permission denied", "/read-only/hub")),
    ("disk", lambda: OSError(errno.EROFS, "Read-only file system", "/mnt/cache")),
    ("gpu_oom", lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")),
    ("gpu_oom", lambda: RuntimeError("CUDA error: out of memory")),
    ("ram_oom", lambda: MemoryError()),
    ("ram_oom", lambda: RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate "
                                     "memory: you tried to allocate 10485760000 bytes.")),
    ("missing_dependency", lambda: raised(lambda: importlib.import_module("peft_is_not_installed_here"))),
    ("model_file", lambda: tarfile.ReadError("file could not be opened successfully")),
    ("model_file", lambda: RuntimeError("PytorchStreamReader failed reading zip archive: failed finding central "
                                        "directory")),
]


@pytest.mark.parametrize("kind, make", CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_each_kind_is_recognised(kind, make):
    error = classify(make(), "loading Canary-Qwen")
    assert error.kind == kind
    message = error.user_message()
    assert "What to do:" in message and "Traceback" not in message
    assert "\n" not in message.strip()


def test_bad_audio_from_the_real_decoder(tmp_path):
    from transcribe_studio.media.decode import decode_audio

    junk = tmp_path / "notes.mp3"
    junk.write_bytes(b"this is a text file, not audio" * 100)
    error = classify(raised(lambda: decode_audio(junk)))
    assert isinstance(error, errors.BadAudioError) and error.kind == "not_media" and "notes.mp3" in error.message


def test_the_cause_chain_is_searched():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("could not save") from inner
    except RuntimeError as outer:
        assert classify(outer).kind == "disk"


def test_studio_errors_pass_through_and_unknown_errors_stay_readable():
    original = errors.NeedsNetworkError("missing config.json")
    assert classify(original) is original
    unknown = classify(ValueError("odd"), "transcribing a.wav")
    assert unknown.kind == "unexpected" and "transcribing a.wav" in unknown.message


def test_callers_can_catch_by_meaning():
    assert issubclass(errors.NeedsNetworkError, errors.NetworkError)
    assert issubclass(errors.GPUOutOfMemoryError, errors.OutOfMemoryError)
    assert issubclass(errors.InvalidRevisionError, errors.ConfigurationError)
    assert all(issubclass(cls, errors.StudioError) for cls in (errors.DiskError, errors.BadAudioError))


def test_report_logs_the_traceback_but_returns_a_short_message(caplog):
    try:
        raise MemoryError()
    except MemoryError as exc:
        error = report(exc, "loading Parakeet")
    assert error.kind == "ram_oom"
    assert caplog.records[-1].exc_info is not None
