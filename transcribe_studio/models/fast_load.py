"""Loading both models through NeMo's own loaders, minus the work they throw away.

Parakeet: ``ASRModel.restore_from`` without its avoidable costs.

Measured on the full-size Parakeet-TDT-0.6B-v2 architecture (2.47 GB ``.nemo``,
2 CPU cores), plain ``restore_from`` takes 14-20 s while reading the file takes
about 2 s. Most of the difference is work that is thrown away:

1. **Random initialisation.** Building the model draws random values for all
   618 M weights, which the checkpoint overwrites a moment later. While the
   model is built we turn ``torch.nn.init``'s functions into no-ops; the
   checkpoint is loaded strictly (as ``load_state_dict(strict=True)``), so a
   weight it did not set is an error, never silently left uninitialised.
2. **Extracting the archive.** NeMo copies the 2.5 GB ``model_weights.ckpt`` out
   of the ``.nemo`` tar into a temporary folder, then reads it back. A ``.nemo``
   is an uncompressed tar, so the checkpoint's bytes sit contiguously inside it:
   we extract only the small members (config, tokenizer) and read the
   checkpoint in place through a window on the archive.
3. **The whole checkpoint at once, in fp32, on the device** (:func:`restore_streamed`).
   ``restore_from(map_location=cuda)`` moves the fp32 model to the card, loads
   the whole fp32 checkpoint there too, and only then can the caller cast to
   bf16: 5.0 GB of GPU memory for a model that ends at 1.2 GB (H100). Restoring
   on the CPU first only moves that peak into system RAM. Instead the model is
   built on the CPU (uninitialised: its fp32 tensors are allocated but never
   written, so the OS never commits their pages) and the checkpoint is read one
   tensor at a time (:mod:`.streamed_checkpoint`): each is cast on the host,
   copied to the device in its final dtype and put in place of the model's,
   then freed before the next. So the card holds the final model plus one
   tensor, and the host one tensor; on the CPU in fp32 the tensors are read
   straight into their place, so the load needs the model's size, not twice it.

Everything else is NeMo's own ``restore_from`` (same classes, same config,
same tokenizer), through its documented ``save_restore_connector`` hook.

Canary-Qwen: ``SALM.from_pretrained`` builds all 2.5 B weights in fp32 on the CPU
(~10 GB), then reads the 5 GB bf16 checkpoint whole into memory, copies it into
the fp32 weights, and only then can the caller cast to bf16: a peak near 15 GB
for a model that ends at 5 GB. We build it without initialising (the fp32
buffers are allocated but never written, so the OS never commits their pages)
and read the checkpoint one tensor at a time, each put straight into the
model in its final dtype. Every parameter must come from the checkpoint, or the
load fails.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import struct
import tarfile
import threading
from pathlib import Path

from . import streamed_checkpoint

log = logging.getLogger(__name__)

# A NeMo checkpoint and its settings inside a .nemo archive; a helper model's are prefixed ("timestamps_asr_...")
WEIGHTS_MEMBER = "model_weights.ckpt"
CONFIG_MEMBER = "model_config.yaml"

# torch.nn.init functions that only fill a tensor with initial values.
_INIT_FUNCTIONS = ("uniform_", "normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_", "xavier_uniform_",
                   "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_", "orthogonal_",
                   "sparse_")


# torch.nn.init is one module for the whole process: two loads patching it at once could
# save each other's no-ops as "the originals" and leave initialisation off for good. So
# builds that skip it run one at a time, and only the outermost one patches and restores.
_INIT_LOCK = threading.RLock()
_init_depth = 0


@contextlib.contextmanager
def skip_weight_init():
    """Make ``torch.nn.init``'s fill functions no-ops while a model whose weights will be loaded is built.

    Builds that skip initialisation run one at a time (:data:`_INIT_LOCK`).
    """
    global _init_depth
    with _INIT_LOCK:
        _init_depth += 1
        try:
            with _patched() if _init_depth == 1 else contextlib.nullcontext():
                yield
        finally:
            _init_depth -= 1


@contextlib.contextmanager
def _patched():
    import torch.nn.init as init

    saved = {name: getattr(init, name) for name in _INIT_FUNCTIONS if hasattr(init, name)}
    try:
        for name in saved:
            setattr(init, name, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for name, function in saved.items():
            setattr(init, name, function)


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``size`` bytes at ``offset`` in an open file."""

    def __init__(self, file, offset: int, size: int):
        self._file, self._offset, self._size, self._pos = file, offset, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = min(max(base + pos, 0), self._size)
        return self._pos

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self._size - self._pos)
        if count <= 0:
            return 0
        self._file.seek(self._offset + self._pos)
        got = self._file.readinto(memoryview(buffer)[:count])
        self._pos += got
        return got


@functools.lru_cache(maxsize=None)
def _connector_classes():
    """NeMo's connector, subclassed once NeMo is imported (importing it takes seconds)."""
    from nemo.core.connectors.save_restore_connector import SaveRestoreConnector

    class InPlaceCheckpointConnector(SaveRestoreConnector):
        """Extract everything but the weights; read the weights straight from the archive."""

        def __init__(self, nemo_path: Path):
            super().__init__()
            self.nemo_path = nemo_path

        def _filtered_tar_info(self, tar_path, filter_fn=None):
            # Every checkpoint is read in place: the model's, and a helper model's stored beside it
            # (Canary-1B-v2's ``timestamps_asr_model_weights.ckpt``, which :func:`restore_streamed` loads apart).
            members = SaveRestoreConnector._filtered_tar_info(tar_path, filter_fn)
            return [m for m in members if not Path(m.name).name.endswith(WEIGHTS_MEMBER)]

        @contextlib.contextmanager
        def _checkpoint_file(self):
            """``model_weights.ckpt`` as a read-only file: a window on its bytes inside the tar."""
            with tarfile.open(self.nemo_path, "r:") as archive:
                member = next(m for m in archive.getmembers() if Path(m.name).name == self.model_weights_ckpt)
            with open(self.nemo_path, "rb") as raw:
                yield io.BufferedReader(_Window(raw, member.offset_data, member.size), buffer_size=1 << 20)

        def _load_state_dict_from_disk(self, model_weights, map_location="cpu"):
            import torch

            with self._checkpoint_file() as file:
                return torch.load(file, map_location=map_location)

    class StreamingConnector(InPlaceCheckpointConnector):
        """As above, but the weights go into the model one tensor at a time, in ``dtype``, onto ``device``.

        NeMo's ``restore_from`` calls ``_load_state_dict_from_disk`` and then ``load_instance_with_state_dict``
        (with ``strict``): the first returns only the checkpoint's layout (no tensor read), the second streams.
        """

        def __init__(self, nemo_path: Path, device, dtype):
            super().__init__(nemo_path)
            self.device, self.dtype = device, dtype

        def _load_state_dict_from_disk(self, model_weights, map_location="cpu"):
            with self._checkpoint_file() as file:
                return streamed_checkpoint.Checkpoint(file).state_dict

        def load_instance_with_state_dict(self, instance, state_dict, strict):
            with self._checkpoint_file() as file:
                checkpoint = streamed_checkpoint.Checkpoint(file)
                reason = streamed_checkpoint.why_not_streamed(instance, state_dict)
                if reason is None:
                    streamed_checkpoint.stream_into(instance, checkpoint, state_dict, dtype=self.dtype,
                                                    device=self.device, strict=strict)
                else:  # exactness first: the model's own load_state_dict, on the whole checkpoint in memory
                    log.info("Loading %s whole, not tensor by tensor: %s.", self.nemo_path.name, reason)
                    instance.load_state_dict(streamed_checkpoint.materialised(checkpoint, state_dict), strict=strict)
            instance._set_model_restore_state(is_being_restored=False)

    return InPlaceCheckpointConnector, StreamingConnector


def is_plain_tar(path: Path) -> bool:
    """True for an uncompressed tar (current .nemo files); older gzip ones take NeMo's usual path."""
    try:
        with tarfile.open(path, "r:"):
            return True
    except tarfile.TarError:
        return False


def restore(nemo_path: Path, map_location, model_class=None):
    """``ASRModel.restore_from(nemo_path)`` (or ``model_class``'s), minus the wasted initialisation and extraction."""
    if model_class is None:
        from nemo.collections.asr.models import ASRModel as model_class

    in_place, _ = _connector_classes()
    connector = in_place(nemo_path) if is_plain_tar(nemo_path) else None
    with skip_weight_init():
        return model_class.restore_from(str(nemo_path), map_location=map_location, save_restore_connector=connector)


def restore_streamed(nemo_path: Path, device, dtype=None, model_class=None, prefix: str = ""):
    """``restore(nemo_path, map_location=device)`` then ``.to(dtype)``, without the model's fp32 copy on ``device``.

    The model is built on the CPU (without initialising: its fp32 tensors are allocated, never written, so
    they take no memory) and each checkpoint tensor goes from the archive to ``device`` alone, already in
    ``dtype`` (floating-point tensors; None keeps the model's own). A gzip-compressed ``.nemo`` (old files)
    takes :func:`restore` and a cast after. ``prefix``: restore the helper model stored beside the main one
    (``prefix + "model_config.yaml"`` and ``prefix + "model_weights.ckpt"``) instead.
    """
    import torch

    if model_class is None:
        from nemo.collections.asr.models import ASRModel as model_class

    device = torch.device(device)
    if is_plain_tar(nemo_path):
        _, streaming = _connector_classes()
        connector = streaming(nemo_path, device, dtype)
        connector.model_config_yaml, connector.model_weights_ckpt = prefix + CONFIG_MEMBER, prefix + WEIGHTS_MEMBER
        with skip_weight_init():
            model = model_class.restore_from(str(nemo_path), map_location=torch.device("cpu"),
                                             save_restore_connector=connector)
    elif prefix:
        raise ValueError(f"{nemo_path} is compressed: its helper model {prefix!r} cannot be restored apart")
    else:
        model = restore(nemo_path, map_location=device, model_class=model_class)
    # What the checkpoint does not hold (non-persistent buffers) follows, as restore_from(map_location=device)
    # and a cast would have moved and cast it.
    return model.to(device) if dtype is None else model.to(device, dtype)


# --- Canary-Qwen (SALM) ----------------------------------------------------------

_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
                       "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}


def read_safetensors(path):
    """Yield ``(name, tensor)`` from a .safetensors file, one tensor at a time, with plain reads.

    Not safetensors' own ``safe_open``: it memory-maps the file, and every page it
    touches then counts in the process's memory until the file is closed, which
    for a 5 GB checkpoint is 5 GB on top of the model.
    """
    import torch

    with open(path, "rb", buffering=0) as f:
        (header_size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_size))
        header.pop("__metadata__", None)
        for name, info in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
            begin, end = info["data_offsets"]
            tensor = torch.empty(info["shape"], dtype=getattr(torch, _SAFETENSORS_DTYPES[info["dtype"]]))
            buffer = memoryview(tensor.reshape(-1).view(torch.uint8).numpy()).cast("B")
            if len(buffer) != end - begin:
                raise ValueError(f"{path}: {name} should take {len(buffer)} bytes, the header says {end - begin}")
            f.seek(8 + header_size + begin)
            done = 0
            while done < len(buffer):
                got = f.readinto(buffer[done:])
                if not got:
                    raise EOFError(f"{path} ends inside {name}: the file is truncated")
                done += got
            yield name, tensor


def load_safetensors_in_place(model, path, dtype=None, device=None) -> None:
    """Replace each parameter and buffer named in ``path`` by the stored tensor, read one at a time.

    Floating-point tensors become ``dtype`` when given, and go to ``device`` when given: on a GPU
    each weight then passes through host memory alone, and the uninitialised CPU weights it
    replaces were never written, so their pages were never taken. Raises if a parameter is not
    in the file.
    """
    from ..errors import ModelFileError

    targets = dict(model.named_parameters(remove_duplicate=False))
    targets.update(dict(model.named_buffers(remove_duplicate=False)))
    modules = dict(model.named_modules(remove_duplicate=False))
    loaded: set[int] = set()
    for key, tensor in read_safetensors(path):
        current = targets.get(key)
        if current is None:
            continue  # as the mixin's non-strict load: unknown keys are ignored
        tensor = tensor.to(device=device, dtype=dtype if dtype is not None and tensor.is_floating_point()
                           else current.dtype)
        owner, _, name = key.rpartition(".")
        module = modules[owner]
        if name in module._parameters:
            module._parameters[name].data = tensor  # the same Parameter object: ties stay tied
        else:
            module._buffers[name] = tensor
        loaded.add(id(current))
    missing = [key for key, param in model.named_parameters() if id(param) not in loaded]
    if missing:
        raise ModelFileError(f"The checkpoint {path} lacks {len(missing)} weight(s), e.g. {missing[:3]}.",
                             next_steps="Run `python setup_local_models.py` to download it again.")


@contextlib.contextmanager
def skip_all_weight_init():
    """:func:`skip_weight_init`, plus transformers' own initialisation of the Qwen LLM."""
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # an older transformers: torch's functions are the ones to skip
        no_init_weights = contextlib.nullcontext
    with skip_weight_init(), no_init_weights():
        yield


def _retie_output_embeddings(model) -> None:
    """Tie the LLM's output layer to the input embeddings, as a normal build does.

    transformers ties them inside ``init_weights``, which ``no_init_weights`` skips;
    SALM has moved the input embeddings out of the LLM (``model.embed_tokens``),
    and the checkpoint stores the shared matrix once, under that name.
    """
    llm = model.llm.get_base_model() if hasattr(model.llm, "get_base_model") else model.llm
    if getattr(llm.config, "tie_word_embeddings", False) and hasattr(llm, "lm_head"):
        llm.lm_head.weight = model.embed_tokens.weight


@functools.lru_cache(maxsize=None)
def _streaming_salm(dtype, device):
    from nemo.collections.speechlm2.models import SALM

    class StreamingSALM(SALM):
        """SALM whose checkpoint is read tensor by tensor, in its final dtype."""

        @classmethod
        def _load_as_safetensor(cls, model, model_file, map_location, strict):
            _retie_output_embeddings(model)
            load_safetensors_in_place(model, model_file, dtype, device)
            return model.eval()

    return StreamingSALM


def from_pretrained_salm(repo: str, *, revision: str, cache_dir, dtype=None, device=None, **kwargs):
    """``SALM.from_pretrained(repo, revision=...)`` with the low-memory build and load (weights onto ``device``)."""
    device = None if device is None or str(device) == "cpu" else str(device)
    with skip_all_weight_init():
        return _streaming_salm(dtype, device).from_pretrained(repo, revision=revision, cache_dir=cache_dir, **kwargs)
