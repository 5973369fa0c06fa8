"""The faster restore gives exactly what NeMo's plain ``ASRModel.restore_from`` gives."""

import torch

from tests.conftest import tone
from transcribe_studio.fast_restore import restore, skip_weight_init


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
