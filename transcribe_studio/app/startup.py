"""Startup validation: what must hold before the app serves, and what to tell the user.

Only the models whose spec says so (``required_at_startup``) must be present
before the app starts: a local file the app cannot work without. A model in the
Hugging Face cache may legitimately not be there yet (its first load downloads
it), so its spec only says where it will come from.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

from ..classify import folder_error
from ..errors import ConfigurationError, StudioError
from ..files import make_private_dir
from ..models import all_specs, get, gpu
from ..models.device import resolve_device
from ..settings import Settings

log = logging.getLogger(__name__)

NO_PRELOAD_ENV = "STUDIO_NO_PRELOAD"
UPLOADS_ENV = "GRADIO_TEMP_DIR"  # Gradio's own variable for where uploads go


def default_upload_folder() -> Path:
    """``<system temp>/transcribe_studio-<user>``: a name of this user's own, so another local user cannot
    create it first and read (or plant) what this one uploads."""
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"transcribe_studio-{user}"


def prepare_upload_folder(environ=None) -> Path:
    """The app's upload folder (``GRADIO_TEMP_DIR``, else :func:`default_upload_folder`), created private
    (0700); a DiskError if it cannot be, a ConfigurationError if another user owns it."""
    environ = os.environ if environ is None else environ
    folder = Path(environ.setdefault(UPLOADS_ENV, str(default_upload_folder())))
    try:
        if folder.exists() and hasattr(os, "getuid") and folder.stat().st_uid != os.getuid():
            raise ConfigurationError(f"The upload folder {folder} belongs to another user of this computer, who "
                                     "could read what you upload.",
                                     next_steps=f"Remove it, or set {UPLOADS_ENV} to a folder of your own.")
        return make_private_dir(folder)
    except OSError as exc:
        raise folder_error(exc, folder, UPLOADS_ENV, starting=True) from exc


def preload_wanted(no_preload_flag: bool, environ=None) -> bool:
    """Preload unless ``--no-preload`` or ``STUDIO_NO_PRELOAD`` (any value but "", "0", "false", "no") says not."""
    value = (os.environ if environ is None else environ).get(NO_PRELOAD_ENV, "").strip().lower()
    return not no_preload_flag and value in ("", "0", "false", "no")


def preload(cache, key: str) -> threading.Thread | None:
    """Load the model ``key`` on a background thread, so the first file starts at once; the page shows it
    "loading" meanwhile (the cache's status never blocks), and a job arriving first waits for this one load.
    A model that cannot load now is left alone (its state says why); a failed load is shown as failed."""
    if get(key).availability(cache.settings) is not None:
        return None

    def load():
        try:
            cache.load(key)
        except StudioError as error:  # shown in the status and the Models tab; the app keeps serving
            log.warning("Preloading %s failed: %s", key, error.user_message())

    thread = threading.Thread(target=load, name=f"preload-{key}", daemon=True)
    thread.start()
    return thread


def validate(settings: Settings) -> list[str]:
    """Raise a StudioError if the app cannot start; else return lines describing the models and the device.

    ``settings`` are already valid: :func:`..commands.start.start` validates them, once, for every command.
    """
    resolve_device(settings.device)  # --device cuda on a machine without a usable GPU stops here, not at the first job
    for spec in all_specs():
        if spec.required_at_startup is not None:
            spec.required_at_startup(settings)
    lines = [spec.describe_at_startup(settings) for spec in all_specs()]
    notice = gpu.cpu_torch_notice()
    return lines + ([f"WARNING: {notice}"] if notice else [])


def port_error(port: int, exc: OSError) -> ConfigurationError:
    """Why the app could not serve on ``port``, naming ``--port`` (Gradio says only that no port was free)."""
    if "Cannot find empty port" in str(exc):
        what = f"Port {port} is already in use by another program (perhaps the studio is already running)."
    else:
        what = f"The app could not serve on port {port} ({exc.strerror or exc})."
    return ConfigurationError(what, next_steps=f"Choose another port with --port, for example --port {port + 1}, "
                                               "or stop the program that holds it.")
