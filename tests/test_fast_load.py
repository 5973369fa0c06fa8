"""The faster restore gives exactly what NeMo's plain ``ASRModel.restore_from`` gives."""

import io
import tarfile
import weakref
from pathlib import Path

import pytest
import torch

from tests.conftest import tone
from transcribe_studio.models.fast_load import restore, skip_weight_init


def test_same_weights_and_same_transcript_as_plain_restore_from(tiny_parakeet):
    from nemo.collections.asr.models import ASRModel

    plain = ASRModel.restore_from(str(tiny_parakeet), map_location="cpu").eval()
    fast = restore(tiny_parakeet, map_location="cpu").eval()
    assert type(fast) is type(plain)
    plain_state, fast_state = plain.state_dict(), fast.state_dict()
    assert plain_state.keys() == fast_state.keys()
    assert all(torch.equal(plain_state[k], fast_state[k]) for k in plain_state)
    audio = tone(3.0)
    plain_hyp = plain.transcribe([audio], batch_size=1, timestamps=True, num_workers=0, verbose=False)[0]
    fast_hyp = fast.transcribe([audio], batch_size=1, timestamps=True, num_workers=0, verbose=False)[0]
    assert fast_hyp.text == plain_hyp.text and fast_hyp.timestamp["word"] == plain_hyp.timestamp["word"]


def test_initialisation_is_skipped_only_inside_the_context():
    layer = torch.nn.Linear(4, 4)
    with skip_weight_init():
        torch.nn.init.constant_(layer.weight, 7.0)
        assert not torch.all(layer.weight == 7.0)
    torch.nn.init.constant_(layer.weight, 7.0)
    assert torch.all(layer.weight == 7.0)


def test_canary_low_memory_load_matches_plain_salm_from_pretrained(settings):
    from nemo.collections.speechlm2.models import SALM

    from transcribe_studio.models import hub_cache
    from transcribe_studio.models.fast_load import from_pretrained_salm

    hub_cache.ensure_canary_files(settings)
    args = dict(revision=settings.canary_revision, cache_dir=str(settings.hub_cache), local_files_only=True)
    plain = SALM.from_pretrained(settings.canary_repo, **args).to(torch.bfloat16)
    fast = from_pretrained_salm(settings.canary_repo, dtype=torch.bfloat16, **args).to(torch.bfloat16)
    assert isinstance(fast, SALM)
    plain_state, fast_state = plain.state_dict(), fast.state_dict()
    assert plain_state.keys() == fast_state.keys()
    different = [k for k in plain_state if not torch.equal(plain_state[k], fast_state[k])]
    assert different == []


def test_a_checkpoint_missing_a_weight_is_refused(tmp_path):
    from safetensors.torch import save_file

    from transcribe_studio.errors import ModelFileError
    from transcribe_studio.models.fast_load import load_safetensors_in_place

    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 2))
    save_file({"0.weight": torch.ones(3, 3), "0.bias": torch.ones(3)}, tmp_path / "partial.safetensors")
    with pytest.raises(ModelFileError, match="lacks 2 weight"):
        load_safetensors_in_place(model, tmp_path / "partial.safetensors")
    save_file({k: torch.full_like(v, 2.0) for k, v in model.state_dict().items()}, tmp_path / "full.safetensors")
    load_safetensors_in_place(model, tmp_path / "full.safetensors", torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 and torch.all(p == 2) for p in model.parameters())


def test_plain_reads_give_what_safetensors_gives(tmp_path):
    from safetensors.torch import load_file, save_file

    from transcribe_studio.models.fast_load import read_safetensors

    tensors = {"a": torch.randn(3, 5).to(torch.bfloat16), "b": torch.arange(7, dtype=torch.int64),
               "c": torch.tensor(2.5), "d": torch.ones(2, 2, dtype=torch.bool), "e": torch.randn(4, dtype=torch.float16)}
    save_file(tensors, tmp_path / "t.safetensors", metadata={"format": "pt"})
    expected = load_file(tmp_path / "t.safetensors")
    got = dict(read_safetensors(tmp_path / "t.safetensors"))
    assert got.keys() == expected.keys()
    assert all(got[k].dtype == expected[k].dtype and torch.equal(got[k], expected[k]) for k in expected)
    data = (tmp_path / "t.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-10])
    with pytest.raises(EOFError, match="truncated"):
        dict(read_safetensors(tmp_path / "cut.safetensors"))


# --- Parakeet streamed tensor by tensor (restore_streamed) -----------------------------------------


def _same_tensors(expected: dict, got: dict) -> list[str]:
    """Keys whose tensors differ in value or dtype (or are missing on one side)."""
    keys = expected.keys() | got.keys()
    return sorted(k for k in keys if k not in expected or k not in got or expected[k].dtype != got[k].dtype
                  or not torch.equal(expected[k], got[k]))


def _all_tensors(model) -> dict:
    """Parameters and every buffer, non-persistent ones included (the positional encoding, the mel filters)."""
    return {**model.state_dict(), **dict(model.named_buffers())}


def _transcribe(model):
    return model.transcribe([tone(3.0)], batch_size=1, timestamps=True, num_workers=0, verbose=False)[0]


def test_streamed_restore_on_the_cpu_is_plain_restore_from(tiny_parakeet):
    from nemo.collections.asr.models import ASRModel

    from transcribe_studio.models.fast_load import restore_streamed

    plain = ASRModel.restore_from(str(tiny_parakeet), map_location="cpu").eval()
    streamed = restore_streamed(tiny_parakeet, "cpu").eval()
    assert type(streamed) is type(plain)
    assert _same_tensors(_all_tensors(plain), _all_tensors(streamed)) == []
    assert {p.dtype for p in streamed.parameters()} == {torch.float32}
    plain_hyp, streamed_hyp = _transcribe(plain), _transcribe(streamed)
    assert streamed_hyp.text == plain_hyp.text and streamed_hyp.timestamp["word"] == plain_hyp.timestamp["word"]


def test_streamed_restore_in_bf16_is_plain_restore_from_then_cast(tiny_parakeet):
    from nemo.collections.asr.models import ASRModel

    from transcribe_studio.models.fast_load import restore_streamed

    plain = ASRModel.restore_from(str(tiny_parakeet), map_location="cpu").to(torch.bfloat16).eval()
    streamed = restore_streamed(tiny_parakeet, "cpu", torch.bfloat16).eval()
    assert _same_tensors(_all_tensors(plain), _all_tensors(streamed)) == []
    assert {p.dtype for p in streamed.parameters()} == {torch.bfloat16}


def _with_checkpoint(nemo: Path, out: Path, change) -> Path:
    """A copy of ``nemo`` whose model_weights.ckpt is its state dict after ``change(state)``, saved anew."""
    with tarfile.open(nemo) as source, tarfile.open(out, "w") as copy:
        for info in source.getmembers():
            content = source.extractfile(info) if info.isfile() else None
            if Path(info.name).name == "model_weights.ckpt":
                state = torch.load(content)
                change(state)
                buffer = io.BytesIO()
                torch.save(state, buffer)  # its records under "archive/", not the .nemo's "model_weights/"
                info.size, content = buffer.tell(), io.BytesIO(buffer.getvalue())
            copy.addfile(info, content)
    return out


def _first_weight(state) -> str:
    return next(k for k in state if k.endswith(".weight"))


@pytest.mark.parametrize("change, said", [
    (lambda state: state.pop(_first_weight(state)), "Missing key(s) in state_dict"),
    (lambda state: state.update(extra_weight=torch.ones(2)), "Unexpected key(s) in state_dict"),
    (lambda state: state.update({_first_weight(state): torch.ones(3, 1)}), "size mismatch"),
])
def test_a_checkpoint_that_does_not_fit_the_model_is_refused_as_damaged_weights(tiny_parakeet, tmp_path, change,
                                                                                 said):
    from transcribe_studio.errors import ModelFileError
    from transcribe_studio.models import nemo_asr

    nemo = _with_checkpoint(tiny_parakeet, tmp_path / "parakeet.nemo", change)
    with pytest.raises(ModelFileError) as raised:
        nemo_asr.load(nemo, "Parakeet", torch.device("cpu"))
    assert "damaged" in raised.value.message and "model_weights.ckpt" in raised.value.message
    assert said in str(raised.value.__cause__)


def test_a_resaved_checkpoint_loads_whatever_its_record_prefix(tiny_parakeet, tmp_path):
    from transcribe_studio.models.fast_load import restore_streamed

    nemo = _with_checkpoint(tiny_parakeet, tmp_path / "parakeet.nemo", lambda state: None)
    reference = restore_streamed(tiny_parakeet, "cpu")
    assert _same_tensors(_all_tensors(reference), _all_tensors(restore_streamed(nemo, "cpu"))) == []


def test_a_gzip_nemo_takes_nemos_own_path_and_gives_the_same_model(tiny_parakeet, tmp_path):
    from transcribe_studio.models.fast_load import is_plain_tar, restore_streamed

    compressed = tmp_path / "parakeet.nemo"
    with tarfile.open(tiny_parakeet) as source, tarfile.open(compressed, "w:gz") as copy:
        for info in source.getmembers():
            copy.addfile(info, source.extractfile(info) if info.isfile() else None)
    assert not is_plain_tar(compressed)
    reference = restore_streamed(tiny_parakeet, "cpu", torch.bfloat16)
    assert _same_tensors(_all_tensors(reference), _all_tensors(restore_streamed(compressed, "cpu", torch.bfloat16))) == []


def test_the_checkpoint_is_read_one_tensor_at_a_time_never_whole(tiny_parakeet, monkeypatch):
    """Each tensor's storage is read on its own, and the previous one (cast to bf16, so not kept) is gone."""
    from transcribe_studio.models import streamed_checkpoint
    from transcribe_studio.models.fast_load import restore_streamed

    read, alive_at_each_read = streamed_checkpoint.Checkpoint.read, []
    floating_reads: list[weakref.ref] = []

    def tracked_read(checkpoint, stored):
        alive_at_each_read.append(sum(ref() is not None for ref in floating_reads))
        tensor = read(checkpoint, stored)
        if tensor.is_floating_point():
            floating_reads.append(weakref.ref(tensor.untyped_storage()))
        return tensor

    def no_whole_load(*args, **kwargs):
        raise AssertionError("torch.load would read the whole checkpoint")

    monkeypatch.setattr(streamed_checkpoint.Checkpoint, "read", tracked_read)
    monkeypatch.setattr(torch, "load", no_whole_load)
    model = restore_streamed(tiny_parakeet, "cpu", torch.bfloat16)
    assert len(alive_at_each_read) == len(model.state_dict())  # one read per tensor of the checkpoint
    assert max(alive_at_each_read) == 0  # when a tensor is read, no earlier one is still in memory


class _Tied(torch.nn.Module):
    """Tied weights, a batch norm (an int64 buffer) and a non-persistent buffer: what streaming must keep."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(5, 4)
        self.out = torch.nn.Linear(4, 5, bias=False)
        self.out.weight = self.embed.weight
        self.norm = torch.nn.BatchNorm1d(4)
        self.register_buffer("scale", torch.full((4,), 0.5), persistent=False)


def _saved(state) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


def test_streaming_keeps_ties_and_casts_only_floating_tensors():
    from transcribe_studio.models import streamed_checkpoint

    torch.manual_seed(0)
    source = _Tied()
    source.norm.num_batches_tracked += 3
    expected = _Tied()
    expected.load_state_dict(source.state_dict())
    expected = expected.to(torch.bfloat16)
    checkpoint = streamed_checkpoint.Checkpoint(_saved(source.state_dict()))
    model = _Tied()
    assert streamed_checkpoint.why_not_streamed(model, checkpoint.state_dict) is None
    streamed_checkpoint.stream_into(model, checkpoint, checkpoint.state_dict, dtype=torch.bfloat16)
    model.to(torch.bfloat16)
    assert model.out.weight is model.embed.weight
    assert _same_tensors(_all_tensors(expected), _all_tensors(model)) == []
    assert model.norm.num_batches_tracked.dtype == torch.int64 and model.norm.num_batches_tracked == 3


def test_a_model_with_load_hooks_is_loaded_whole_by_its_own_load_state_dict():
    from transcribe_studio.models import streamed_checkpoint

    model = _Tied()
    model.norm.register_load_state_dict_pre_hook(lambda *args, **kwargs: None)
    checkpoint = streamed_checkpoint.Checkpoint(_saved(_Tied().state_dict()))
    assert "load hooks" in streamed_checkpoint.why_not_streamed(model, checkpoint.state_dict)
    model.load_state_dict(streamed_checkpoint.materialised(checkpoint, checkpoint.state_dict))


def test_data_pkl_may_name_nothing_but_tensors():
    import pickle

    from transcribe_studio.models import streamed_checkpoint

    with pytest.raises(pickle.UnpicklingError, match=r"asks for (os|posix)\.system"):
        streamed_checkpoint.Checkpoint(_saved({"weight": torch.ones(2), "evil": _Evil()}))


class _Evil:
    def __reduce__(self):
        import os

        return os.system, ("true",)
