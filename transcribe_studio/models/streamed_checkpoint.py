"""A ``torch.save`` checkpoint put into a model one tensor at a time, each in its final dtype, on its device.

``torch.load`` materialises the whole state dict before ``load_state_dict`` copies it into the model: on a
GPU, NeMo's ``restore_from`` then has the fp32 model and the fp32 checkpoint on the card at once, and only
afterwards can the model be cast to bf16. Here nothing is read until it goes into the model.

A checkpoint written by ``torch.save`` is a zip archive (torch's format since 1.6): ``data.pkl`` pickles the
state dict, with each tensor's storage kept aside as a record ``data/<key>``. We unpickle ``data.pkl`` with
every tensor replaced by a :class:`StoredTensor` (where its bytes are, its dtype, shape and strides), check
the keys and shapes against the model as ``load_state_dict(strict=True)`` would, then read the records one
by one: each is cast on the host, moved to the device and put in place of the model's (never initialised)
tensor, and freed before the next is read.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import pickle
import sys


@dataclasses.dataclass(frozen=True)
class StoredTensor:
    """Where one tensor of the checkpoint is, without its data: its storage is the record ``data/<key>``."""

    key: str
    dtype: object  # torch.dtype (torch is imported lazily)
    storage_bytes: int
    offset: int  # in elements, into the storage
    size: tuple[int, ...]
    stride: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class _StoredStorage:
    key: str
    dtype: object
    nbytes: int


def _stored_tensor(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """Stands in for ``torch._utils._rebuild_tensor_v2`` while ``data.pkl`` is read."""
    if metadata:  # conjugate or negative bits: never in a state dict of weights, so never guessed at
        raise pickle.UnpicklingError(f"model_weights.ckpt holds a tensor with unusual metadata {metadata!r}")
    return StoredTensor(storage.key, storage.dtype, storage.nbytes, offset, tuple(size), tuple(stride))


def _stored_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    """Stands in for ``torch._utils._rebuild_parameter`` (and ``_with_state``): the data is what is loaded."""
    return data


_ALLOWED = {("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): _stored_tensor,
            ("torch._utils", "_rebuild_parameter"): _stored_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): _stored_parameter}


def _storage_dtype(name: str):
    import torch

    if name == "UntypedStorage":
        return torch.uint8
    return torch.storage._get_dtype_from_pickle_storage_type(name)


class _IndexUnpickler(pickle.Unpickler):
    """Reads ``data.pkl`` into a state dict of :class:`StoredTensor`.

    Only what a state dict of plain tensors holds may be named, as with ``torch.load``'s default
    ``weights_only=True``: anything else is refused, never imported.
    """

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return _ALLOWED[module, name]
        if module == "torch" and name.endswith("Storage"):
            return _storage_dtype(name)
        raise pickle.UnpicklingError(f"model_weights.ckpt asks for {module}.{name}, which a state dict of "
                                     "tensors never holds")

    def persistent_load(self, saved_id):
        typename, dtype, key, _location, numel = saved_id
        if typename != "storage":
            raise pickle.UnpicklingError(f"model_weights.ckpt holds an unknown persistent object {typename!r}")
        return _StoredStorage(str(key), dtype, numel * dtype.itemsize)


class Checkpoint:
    """A ``torch.save`` zip archive: its state dict with :class:`StoredTensor` values, each read on demand.

    torch's reader names records without the archive's top folder (``model_weights/`` in a ``.nemo``,
    ``archive/`` elsewhere), so they are found as ``torch.save`` wrote them, whatever that folder is.
    """

    def __init__(self, file):
        import torch

        self._reader = torch._C.PyTorchFileReader(file)  # what torch.load reads a zip checkpoint with
        self.state_dict = _IndexUnpickler(io.BytesIO(self._reader.get_record("data.pkl"))).load()
        self._swap_bytes = self._byte_order() != sys.byteorder

    def _byte_order(self) -> str:
        if self._reader.has_record("byteorder"):
            return self._reader.get_record("byteorder").decode()
        return "little"  # torch.load's default for archives written without the mark

    def read(self, stored: StoredTensor):
        """The tensor ``stored`` describes, on the CPU, in its stored dtype: the only copy of it in memory."""
        import torch

        record = self._reader.get_storage_from_record(f"data/{stored.key}", stored.storage_bytes,
                                                       torch.UntypedStorage)
        storage = record.untyped_storage()
        if self._swap_bytes:
            storage.byteswap(stored.dtype)
        return torch.empty(0, dtype=stored.dtype).set_(storage, stored.offset, stored.size, stored.stride)


# --- into the model -------------------------------------------------------------------------------


def _persistent_tensors(model) -> dict:
    """``{key: (module, name, is_parameter)}`` for every tensor ``model.state_dict()`` would hold."""
    targets = {}
    for path, module in model.named_modules(remove_duplicate=False):
        prefix = f"{path}." if path else ""
        for name, parameter in module._parameters.items():
            if parameter is not None:
                targets[prefix + name] = (module, name, True)
        for name, buffer in module._buffers.items():
            if buffer is not None and name not in module._non_persistent_buffers_set:
                targets[prefix + name] = (module, name, False)
    return targets


def why_not_streamed(model, state_dict) -> str | None:
    """Why ``model`` must be loaded by its own ``load_state_dict`` (whole), or None when streaming gives the same.

    Streaming replaces tensors directly, so it is exact only where loading is plain copying: no load hooks,
    no extra state, no module that loads in its own way except the two whose own way changes nothing here.
    """
    import torch

    if type(model).load_state_dict is not torch.nn.Module.load_state_dict:
        return f"{type(model).__name__} has its own load_state_dict"
    for path, module in model.named_modules(remove_duplicate=False):
        prefix, what = f"{path}." if path else "", f"{path or 'the model'} ({type(module).__name__})"
        if module._load_state_dict_pre_hooks or module._load_state_dict_post_hooks:
            return f"{what} has load hooks"
        if type(module).get_extra_state is not torch.nn.Module.get_extra_state:
            return f"{what} has extra state"
        if not _loads_by_plain_copy(module, prefix, state_dict):
            return f"{what} loads its state in its own way"
    if any(not isinstance(value, StoredTensor) for value in state_dict.values()):
        return "the checkpoint holds values that are not tensors"
    return None


def _loads_by_plain_copy(module, prefix: str, state_dict) -> bool:
    import torch

    own = type(module)._load_from_state_dict
    if own is torch.nn.Module._load_from_state_dict:
        return True
    if own is torch.nn.modules.batchnorm._NormBase._load_from_state_dict:
        # only fills in num_batches_tracked where an old checkpoint lacks it
        return module.num_batches_tracked is None or f"{prefix}num_batches_tracked" in state_dict
    if own.__module__ == "torchmetrics.metric" and own.__qualname__ == "Metric._load_from_state_dict":
        # torchmetrics (NeMo's WER): only takes the metric states that were saved
        return not any(f"{prefix}{name}" in state_dict for name in getattr(module, "_defaults", {}))
    return False


def check_fits(model, state_dict, strict: bool = True) -> None:
    """Raise as ``model.load_state_dict(state_dict, strict)`` would, before anything is read.

    A weight missing from the checkpoint, a key the model does not have (``strict``), or a shape that
    differs: a RuntimeError "Error(s) in loading state_dict for ...", in torch's own words.
    """
    import torch

    targets = _persistent_tensors(model)
    errors = []
    if strict:
        unexpected = [key for key in state_dict if key not in targets]
        missing = [key for key in targets if key not in state_dict]
        if unexpected:
            errors.append("Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
    for key, stored in state_dict.items():
        if key not in targets:
            continue
        current = _current(targets[key])
        if torch.Size(stored.size) != current.shape:
            errors.append(f"size mismatch for {key}: copying a param with shape {torch.Size(stored.size)} from "
                          f"checkpoint, the shape in current model is {current.shape}.")
    if errors:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(model).__name__}:\n\t" + "\n\t".join(errors))


def _current(target):
    module, name, is_parameter = target
    return module._parameters[name] if is_parameter else module._buffers[name]


def stream_into(model, checkpoint: Checkpoint, state_dict, *, dtype=None, device=None, strict: bool = True) -> None:
    """Put each tensor of ``state_dict`` (read from ``checkpoint``) into ``model``, one at a time.

    Each becomes what ``load_state_dict`` and then ``model.to(device, dtype)`` would have made of it:
    floating-point tensors in ``dtype`` (when given), every tensor on ``device`` (when given). Parameters keep
    their Parameter object (``.data`` is replaced), so tied weights stay tied. Tensors the checkpoint does not
    hold (non-persistent buffers) are left for the caller's ``model.to``.
    """
    import torch

    check_fits(model, state_dict, strict)
    device = torch.device(device) if device is not None else None
    targets = _persistent_tensors(model)
    with torch.no_grad():
        for key, stored in state_dict.items():
            if key in targets:
                _put(targets[key], checkpoint.read(stored), dtype, device)


def _put(target, tensor, dtype, device) -> None:
    module, name, is_parameter = target
    final = _in_final_form(tensor, _current(target), dtype, device)
    if is_parameter:
        module._parameters[name].data = final  # the same Parameter object: ties stay tied
    else:
        module._buffers[name] = final


def _in_final_form(tensor, current, dtype, device):
    """``tensor`` as ``current.copy_(tensor)`` then ``.to(device, dtype)`` would leave it, in fresh memory.

    Cast on the host, through the model's own dtype as ``copy_`` would (so values match the old path bit for
    bit), then copied once to ``device``: only final-dtype bytes cross to a GPU.
    """
    import torch

    final_dtype = dtype if dtype is not None and current.is_floating_point() else current.dtype
    cast = tensor.to(current.dtype).to(final_dtype)
    device = device if device is not None else current.device
    if cast.device == device and _alone_in_its_storage(cast) and cast.stride() == current.stride():
        return cast  # read straight into its final form (the CPU in fp32): no second copy
    placed = torch.empty_like(current, dtype=final_dtype, device=device)
    placed.copy_(cast)
    return placed


def _alone_in_its_storage(tensor) -> bool:
    """True when ``tensor`` spans its whole storage: keeping it keeps no one else's bytes alive."""
    return tensor.storage_offset() == 0 and tensor.untyped_storage().nbytes() == tensor.numel() * tensor.element_size()


def materialised(checkpoint: Checkpoint, state_dict):
    """The whole state dict read into memory, as ``torch.load`` gives it (for models that load their own way)."""
    whole = collections.OrderedDict(
        (key, checkpoint.read(value) if isinstance(value, StoredTensor) else value) for key, value in state_dict.items())
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        whole._metadata = metadata
    return whole
