"""The faster restore gives exactly what NeMo's plain ``ASRModel.restore_from`` gives."""

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
    import pytest
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
    import pytest

    with pytest.raises(EOFError, match="truncated"):
        dict(read_safetensors(tmp_path / "cut.safetensors"))
