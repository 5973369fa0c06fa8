"""Builders for tiny *real* NeMo models with random weights, for the test suite.

Why this exists: the tests load models through the app's own code paths
(``ASRModel.restore_from`` for Parakeet, ``SALM.from_pretrained`` from a Hugging
Face hub cache for Canary-Qwen), with the real NeMo classes - nothing is mocked.
The real checkpoints (2.5 GB and 5 GB) cannot be downloaded here, so these
helpers build architecturally faithful but tiny stand-ins in a few seconds:

* :func:`build_tiny_parakeet` - a FastConformer-TDT ``EncDecRNNTBPEModel``
  saved as a ``.nemo`` file (same config shape as parakeet-tdt-0.6b-v2).
* :func:`build_tiny_canary_v2` - an AED multitask ``EncDecMultiTaskModel`` (canary2 prompt, one SentencePiece
  tokenizer with the language and task tokens) with a tiny CTC timer model inside its ``.nemo``, as
  nvidia/canary-1b-v2 ships it.
* :func:`build_tiny_canary_cache` - a hub cache (``HF_HUB_CACHE`` layout) with
  ``nvidia/canary-qwen-2.5b`` (a tiny ``SALM``) and ``Qwen/Qwen3-1.7B`` (tiny
  Qwen3 config plus byte-level BPE tokenizer) at pinned commits.

Everything is seeded (deterministic) and nothing touches the network. NeMo is
imported inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

__all__ = [
    "ENGLISH_TEXT",
    "PARAKEET_SENTENCE",
    "EUROPEAN_TEXT",
    "EUROPEAN_SENTENCE",
    "TDT_DURATIONS",
    "build_tiny_parakeet",
    "build_tiny_canary_cache",
    "build_tiny_canary_v2",
    "CANARY_V2_SENTENCE",
    "build_tiny_diarizer",
]

# Small English corpus for the tokenizers (both builders train on it).
ENGLISH_TEXT = """\
hello world. this is a test of the transcription studio.
the quick brown fox jumps over the lazy dog.
we record a short meeting and then we transcribe it.
can you hear me now? yes, i can hear you very well!
please summarise the notes from today's call.
one two three four five six seven eight nine ten.
speech recognition turns audio into text with timestamps.
the model listens to the sound and writes down every word.
thank you for joining, see you next week.
it is a good day to test a small model on the computer.
she said that the weather was nice and warm in the morning.
they went to the market to buy bread, milk and some fruit.
"""

TDT_DURATIONS = [0, 1, 2, 3, 4]

# The real models' mel front end (Parakeet-TDT-0.6B-v2 and Canary-Qwen's encoder): 128 features at 16 kHz.
MEL_PREPROCESSOR = {
    "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
    "sample_rate": 16000,
    "normalize": "per_feature",
    "window_size": 0.025,
    "window_stride": 0.01,
    "window": "hann",
    "features": 128,
    "n_fft": 512,
    "log": True,
    "frame_splicing": 1,
    "dither": 1.0e-05,
    "pad_to": 0,
    "pad_value": 0.0,
}


def _fastconformer(n_layers: int, d_model: int, *, n_heads: int, conv_channels: int, **extra) -> dict:
    """A FastConformer encoder config shaped like the real models' (dw_striding x8, rel_pos), at a tiny size."""
    return {
        "_target_": "nemo.collections.asr.modules.ConformerEncoder",
        "feat_in": 128, "feat_out": -1, "n_layers": n_layers, "d_model": d_model,
        "subsampling": "dw_striding", "subsampling_factor": 8, "subsampling_conv_channels": conv_channels,
        "causal_downsampling": False, "ff_expansion_factor": 2, "self_attention_model": "rel_pos",
        "n_heads": n_heads, "att_context_size": [-1, -1], "xscaling": True, "untie_biases": True,
        "pos_emb_max_len": 5000, "conv_kernel_size": 9, "conv_norm_type": "batch_norm", "conv_context_size": None,
        "dropout": 0.1, "dropout_pre_encoder": 0.1, "dropout_emb": 0.0, "dropout_att": 0.1, **extra,
    }


# What the tiny Parakeet "hears" in any audio (see _script_tdt_transcript).
PARAKEET_SENTENCE = "we see a man and you."
# A multilingual corpus (German, Polish, Spanish, French beside English) for a tiny Parakeet v3, and its sentence.
EUROPEAN_TEXT = ENGLISH_TEXT + """\
guten morgen, wie geht es ihnen? grüße aus köln und münchen.
dzień dobry, jak się masz? pozdrowienia z łodzi i gdańska.
buenos días, ¿cómo está usted? saludos desde españa y coruña.
bonjour, comment ça va? à bientôt à paris, où il fait beau.
"""
EUROPEAN_SENTENCE = "grüße."  # tokens all distinct (the script needs it): one word

_PARAKEET_VOCAB_SIZE = 64
_SEED = 1234


# --------------------------------------------------------------------------- helpers


def _seed_everything(seed: int = _SEED) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def outside_a_restore():
    """Build a model from its config as a first thing in the process would be built.

    NeMo keeps the last ``.nemo`` path it restored in its process-wide ``AppState``; a multitask model built
    after any restore takes itself for one being restored and looks for a timer model in an extracted folder
    that is gone (``aed_multitask_models.py``: a TypeError on ``None``). Users only restore; builders are the
    exception, so for the build the last path is none, and afterwards it is what it was.
    """
    from nemo.utils import AppState

    state = AppState()
    before = state.model_restore_path
    state.model_restore_path = None
    try:
        yield
    finally:
        state.model_restore_path = before


@contextlib.contextmanager
def _quiet_nemo():
    """Lower NeMo's (very chatty) logging while building; restore afterwards."""
    from nemo.utils import logging as nemo_logging

    old = nemo_logging.getEffectiveLevel()
    nemo_logging.setLevel(logging.ERROR)
    try:
        yield
    finally:
        nemo_logging.setLevel(old)


def _train_sentencepiece_bpe(out_dir: Path, vocab_size: int = _PARAKEET_VOCAB_SIZE, corpus: str = None) -> Path:
    """Train a SentencePiece BPE model the way NeMo's ``create_spt_model`` does.

    Writes ``tokenizer.model``, ``tokenizer.vocab`` and ``vocab.txt`` into ``out_dir``
    (a NeMo ``bpe`` tokenizer directory needs ``vocab.txt`` beside ``tokenizer.model``).
    """
    import io

    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    model_bytes = io.BytesIO()
    # Train from an iterator into memory: no temp paths end up in the model's
    # trainer_spec, so tokenizer.model is byte-for-byte reproducible.
    spm.SentencePieceTrainer.Train(
        sentence_iterator=iter((corpus or ENGLISH_TEXT).splitlines() * 4),
        model_writer=model_bytes,
        vocab_size=vocab_size,
        model_type="bpe",
        character_coverage=1.0,
        bos_id=-1,
        eos_id=-1,
        hard_vocab_limit=False,
        shuffle_input_sentence=False,
        remove_extra_whitespaces=False,
        num_threads=1,
        minloglevel=2,
    )
    (out_dir / "tokenizer.model").write_bytes(model_bytes.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model_bytes.getvalue())
    write_vocab_files(sp, out_dir)
    return out_dir


def write_vocab_files(sp, out_dir: Path) -> None:
    """``tokenizer.vocab`` and ``vocab.txt`` beside ``tokenizer.model``, as NeMo's bpe tokenizer folder needs."""
    # tokenizer.vocab, as spm_train writes it (piece<TAB>score).
    pieces = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    (out_dir / "tokenizer.vocab").write_text(
        "".join(f"{piece}\t{score:g}\n" for piece, score in pieces), encoding="utf-8"
    )
    # Same vocab.txt format as nemo.collections.common.tokenizers.sentencepiece_tokenizer.create_spt_model.
    tokens = []
    for piece, _ in pieces:
        if piece in ("<s>", "</s>", "<pad>", "<unk>"):
            continue
        token = piece[1:] if piece.startswith("\u2581") else f"##{piece}"
        tokens.append(token if token else piece[0])
    (out_dir / "vocab.txt").write_text("".join(f"{t}\n" for t in tokens), encoding="utf-8")


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _put_in_hub_cache(hub_cache: Path, repo_id: str, commit: str, files: dict[str, Path], write_ref: bool) -> Path:
    """Lay out ``files`` (repo path -> local file) like huggingface_hub's cache does.

    ``models--<org>--<name>/blobs/<hash>`` holds the content (sha256 for LFS-style
    ``*.safetensors``, git blob sha1 otherwise) and ``snapshots/<commit>/<path>`` are
    relative symlinks to it. ``refs/main`` is only written when ``write_ref``.
    """
    repo_dir = hub_cache / ("models--" + repo_id.replace("/", "--"))
    blobs = repo_dir / "blobs"
    snapshot = repo_dir / "snapshots" / commit
    blobs.mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for rel, src in sorted(files.items()):
        data = Path(src).read_bytes()
        blob_hash = hashlib.sha256(data).hexdigest() if rel.endswith(".safetensors") else _git_blob_sha1(data)
        blob = blobs / blob_hash
        if not blob.exists():
            blob.write_bytes(data)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, link.parent))
    if write_ref:
        (repo_dir / "refs").mkdir(exist_ok=True)
        (repo_dir / "refs" / "main").write_text(commit)
    return snapshot


# --------------------------------------------------------------------------- Parakeet


def _parakeet_config(tokenizer_dir: Path) -> dict:
    d_model = 64
    pred_hidden = 64
    joint_hidden = 64
    ds_common = {
        "manifest_filepath": None,
        "sample_rate": 16000,
        "batch_size": 4,
        "shuffle": False,
        "num_workers": 0,
        "pin_memory": False,
        "use_start_end_token": False,
    }
    return {
        "sample_rate": 16000,
        "compute_eval_loss": False,
        "log_prediction": False,
        "rnnt_reduction": "mean_volume",
        "skip_nan_grad": False,
        "model_defaults": {
            "enc_hidden": d_model,
            "pred_hidden": pred_hidden,
            "joint_hidden": joint_hidden,
            "tdt_durations": list(TDT_DURATIONS),
            "num_tdt_durations": len(TDT_DURATIONS),
        },
        "train_ds": {**ds_common, "shuffle": True},
        "validation_ds": dict(ds_common),
        "test_ds": dict(ds_common),
        "tokenizer": {"dir": str(tokenizer_dir), "type": "bpe"},
        "preprocessor": dict(MEL_PREPROCESSOR),
        "spec_augment": {
            "_target_": "nemo.collections.asr.modules.SpectrogramAugmentation",
            "freq_masks": 2,
            "time_masks": 2,
            "freq_width": 27,
            "time_width": 0.05,
        },
        "encoder": _fastconformer(2, d_model, n_heads=4, conv_channels=32, use_bias=False,
                                  att_context_style="regular", stochastic_depth_drop_prob=0.0,
                                  stochastic_depth_mode="linear", stochastic_depth_start_layer=1),
        "decoder": {
            "_target_": "nemo.collections.asr.modules.RNNTDecoder",
            "normalization_mode": None,
            "random_state_sampling": False,
            "blank_as_pad": True,
            "prednet": {"pred_hidden": pred_hidden, "pred_rnn_layers": 1, "t_max": None, "dropout": 0.2},
        },
        "joint": {
            "_target_": "nemo.collections.asr.modules.RNNTJoint",
            "log_softmax": None,
            "preserve_memory": False,
            "fuse_loss_wer": True,
            "fused_batch_size": 4,
            "jointnet": {"joint_hidden": joint_hidden, "activation": "relu", "dropout": 0.2},
            "num_extra_outputs": len(TDT_DURATIONS),
        },
        "decoding": {
            "strategy": "greedy_batch",
            "model_type": "tdt",
            "durations": list(TDT_DURATIONS),
            "greedy": {"max_symbols": 10},
            "beam": {"beam_size": 2, "return_best_hypothesis": False, "score_norm": True, "tsat_limit": 1000},
        },
        "loss": {
            "loss_name": "tdt",
            "tdt_kwargs": {
                "fastemit_lambda": 0.0,
                "clamp": -1.0,
                "durations": list(TDT_DURATIONS),
                "sigma": 0.02,
                "omega": 0.1,
            },
        },
    }


def _script_tdt_transcript(model, sentence: str = PARAKEET_SENTENCE) -> None:
    """Wire the (otherwise random) prediction net and joint so greedy TDT decoding
    spells ``sentence`` over and over, whatever the audio.

    Random weights alone emit either nothing or one token forever ("a a a a"). Here
    the decoder becomes a first-order Markov chain over the sentence's token ids
    (which must all be distinct): the LSTM is made memoryless (``h = tanh(tanh(3 x))``
    of the last token's one-hot embedding), the joint's prediction projection
    amplifies it, the joint's encoder projection is zeroed, and the joint's output
    layer maps "previous token = sentence[j]" to "next token = sentence[j+1]" with
    duration 2 frames (4 after the "."), never blank. The encoder and preprocessor
    keep their random weights and still run. With 80 ms frames a sentence lasts
    about 1.6 s, so ~3 s of audio gives several words and more than one segment.
    """
    import torch

    tokenizer = model.tokenizer
    ids = list(tokenizer.text_to_ids(sentence))
    assert len(set(ids)) == len(ids), f"tokens of {sentence!r} must be distinct: {tokenizer.text_to_tokens(sentence)}"
    vocab_size = tokenizer.vocab_size
    n_dur = len(TDT_DURATIONS)
    pred = model.decoder.prediction
    embed, lstm = pred["embed"], pred["dec_rnn"].lstm
    hidden = lstm.hidden_size
    assert lstm.num_layers == 1 and len(ids) <= hidden <= embed.embedding_dim
    final = model.joint.joint_net[-1]
    assert final.out_features == vocab_size + 1 + n_dur, (final.out_features, vocab_size)
    with torch.no_grad():
        # Embedding: token sentence[j] -> one-hot e_j (blank/pad and other tokens -> 0).
        embed.weight.zero_()
        for j, tok in enumerate(ids):
            embed.weight[tok, j] = 1.0
        # LSTM gates (i, f, g, o): input and output gates open, forget gate shut,
        # cell input = tanh(3 x): no memory, h depends on the last token only.
        lstm.weight_hh_l0.zero_()
        lstm.bias_hh_l0.zero_()
        lstm.weight_ih_l0.zero_()
        lstm.bias_ih_l0.zero_()
        lstm.bias_ih_l0[0:hidden] = 10.0
        lstm.bias_ih_l0[hidden : 2 * hidden] = -10.0
        lstm.bias_ih_l0[3 * hidden : 4 * hidden] = 10.0
        lstm.weight_ih_l0[2 * hidden : 3 * hidden, : embed.embedding_dim] = 3.0 * torch.eye(
            hidden, embed.embedding_dim
        )
        # Joint: f(enc) = 0, g(pred) = 5 h, output = W relu(f + g) + b.
        model.joint.enc.weight.zero_()
        model.joint.enc.bias.zero_()
        model.joint.pred.weight.copy_(5.0 * torch.eye(*model.joint.pred.weight.shape))
        model.joint.pred.bias.zero_()
        final.weight.zero_()
        bias = torch.full((final.out_features,), -5.0)
        bias[vocab_size] = 0.0  # blank: loses to any scripted token
        bias[ids[0]] = 5.0  # first token, chosen from the start state (g = 0)
        bias[vocab_size + 1 :] = 0.0
        for j, tok in enumerate(ids):
            nxt = ids[(j + 1) % len(ids)]
            final.weight[nxt, j] = 4.0
            duration = 4 if tokenizer.ids_to_tokens([nxt])[0].endswith(".") else 2
            final.weight[vocab_size + 1 + TDT_DURATIONS.index(duration), j] = 4.0
        bias[vocab_size + 1 + TDT_DURATIONS.index(2)] = 1.0  # first token's duration
        final.bias.copy_(bias)


def build_tiny_parakeet(nemo_path: Path, corpus: str = None, sentence: str = PARAKEET_SENTENCE) -> Path:
    """Build a tiny FastConformer-TDT ``EncDecRNNTBPEModel`` and ``save_to`` ``nemo_path``.

    Same architecture family and config layout as nvidia/parakeet-tdt-0.6b-v2
    (128-mel 16 kHz preprocessor with 10 ms stride, dw_striding x8 FastConformer
    encoder, RNNT decoder + joint with TDT durations [0..4], greedy_batch TDT
    decoding, SentencePiece BPE tokenizer) but 2 layers, d_model 64, vocab 64 and
    random weights. The prediction net and joint are then scripted (see
    ``_script_tdt_transcript``) so ``transcribe(..., timestamps=True)`` of any audio
    returns ``PARAKEET_SENTENCE`` repeated ("we see a man and you. we see ...",
    ~6 words per 1.6 s) with non-empty word and segment timestamps.
    ``corpus`` and ``sentence``: the tokenizer's training text and the scripted sentence instead (a multilingual
    Parakeet, v3's kind: a tokenizer covering other scripts). Returns ``nemo_path``.
    """
    import torch
    from omegaconf import OmegaConf

    nemo_path = Path(nemo_path)
    nemo_path.parent.mkdir(parents=True, exist_ok=True)
    _seed_everything()
    with _quiet_nemo():
        from nemo.collections.asr.models import EncDecRNNTBPEModel

        with tempfile.TemporaryDirectory(prefix="tiny_parakeet_") as tmp:
            tokenizer_dir = _train_sentencepiece_bpe(Path(tmp) / "tokenizer", corpus=corpus)
            cfg = OmegaConf.create(_parakeet_config(tokenizer_dir))
            model = EncDecRNNTBPEModel(cfg=cfg)
            _script_tdt_transcript(model, sentence)
            model.eval()
            with torch.no_grad():
                model.save_to(str(nemo_path))
    return nemo_path


# --------------------------------------------------------------------------- Canary-Qwen


_QWEN_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_QWEN_EXTRA_TOKENS = ["<think>", "</think>"]  # plain added tokens in the real Qwen3 tokenizer
_QWEN_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
# Qwen2/Qwen3 pre-tokenizer split pattern.
_QWEN_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _train_tiny_qwen_tokenizer():
    """A byte-level BPE tokenizer trained on ``ENGLISH_TEXT`` with Qwen3's pre-tokenizer and special tokens."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )

    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN_SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = None
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tok.train_from_iterator(ENGLISH_TEXT.splitlines() * 4, trainer=trainer)
    # Special tokens are added AFTER training so that id 0 stays a plain byte.
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in _QWEN_SPECIAL_TOKENS])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in _QWEN_EXTRA_TOKENS])
    return tok


def _qwen_tokenizer_config(ids: dict[str, int]) -> dict:
    """``tokenizer_config.json`` as Qwen3 ships it, for the added tokens' ``ids``."""
    added_tokens_decoder = {
        str(ids[t]): {
            "content": t,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": t in _QWEN_SPECIAL_TOKENS,
        }
        for t in _QWEN_SPECIAL_TOKENS + _QWEN_EXTRA_TOKENS
    }
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added_tokens_decoder,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": _QWEN_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 131072,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def _tiny_qwen_config(ids: dict[str, int], vocab_size: int) -> dict:
    """A 2-layer, 64-wide Qwen3 ``config.json`` with the tokenizer's ``ids`` for BOS and EOS."""
    return {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "head_dim": 16,
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 128,
        "max_position_embeddings": 4096,
        "max_window_layers": 2,
        "model_type": "qwen3",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.51.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": vocab_size,
    }


def _write_tiny_qwen(out_dir: Path) -> list[str]:
    """Write a tiny Qwen3 ``config.json`` and byte-level BPE tokenizer files into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tok = _train_tiny_qwen_tokenizer()
    tok.save(str(out_dir / "tokenizer.json"))
    tok.model.save(str(out_dir))  # vocab.json + merges.txt

    ids = {t: tok.token_to_id(t) for t in _QWEN_SPECIAL_TOKENS + _QWEN_EXTRA_TOKENS}
    tokenizer_config = _qwen_tokenizer_config(ids)
    (out_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2), encoding="utf-8")

    # Leave room for the "<|audioplaceholder|>" token SALM adds (the real Qwen3 config also
    # has vocab_size 151936 > len(tokenizer)).
    vocab_size = ((tok.get_vocab_size(with_added_tokens=True) + 1 + 63) // 64) * 64
    config = _tiny_qwen_config(ids, vocab_size)
    (out_dir / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return ["config.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "vocab.json"]


def _salm_config(llm_dir: Path, hidden_size: int) -> dict:
    enc_d_model = 32
    return {
        "pretrained_llm": str(llm_dir),
        "pretrained_asr": "nvidia/canary-1b-flash",
        "pretrained_weights": False,
        "audio_locator_tag": "<|audioplaceholder|>",
        "prompt_format": "qwen",
        "freeze_params": [r"^llm\..+$", r"^embed_tokens\..+$"],
        "prevent_freeze_params": [],
        "lora": {
            "r": 8,
            "lora_alpha": 16,
            "lora_dropout": 0.01,
            "task_type": "CAUSAL_LM",
            "target_modules": ["q_proj", "v_proj"],
        },
        "perception": {
            "output_dim": hidden_size,
            "preprocessor": dict(MEL_PREPROCESSOR),
            "encoder": _fastconformer(1, enc_d_model, n_heads=2, conv_channels=16),
            "modality_adapter": {
                "_target_": "nemo.collections.speechlm2.modules.perception.IdentityConnector",
                "d_model": enc_d_model,
            },
        },
    }


def build_tiny_canary_cache(
    hub_cache: Path,
    *,
    canary_repo: str = "nvidia/canary-qwen-2.5b",
    canary_commit: str,
    qwen_repo: str = "Qwen/Qwen3-1.7B",
    qwen_commit: str,
    nonempty_text: bool = True,
) -> dict:
    """Lay out a Hugging Face hub cache (``HF_HUB_CACHE`` format) with a tiny Canary-Qwen.

    * ``qwen_repo`` at ``qwen_commit``: ``config.json`` (tiny Qwen3), ``tokenizer.json``,
      ``tokenizer_config.json``, ``vocab.json``, ``merges.txt``. **No** ``refs/main``: a
      lookup of Qwen at ``main`` fails offline, only the pinned commit resolves.
    * ``canary_repo`` at ``canary_commit`` (``refs/main`` = ``canary_commit``):
      ``config.json`` + ``model.safetensors`` from a tiny ``SALM`` (LoRA on the LLM,
      ConformerEncoder perception). The config names ``pretrained_llm: <qwen_repo>``
      and has no ``tokenizer_path``, like the real one, so loading it offline needs
      the Qwen tokenizer/config placed beside the checkpoint (the app's pin).
    * ``nonempty_text``: zero the LLM's final norm so all logits are equal and greedy
      decoding always emits token 0 (a plain byte), i.e. non-empty text.

    Returns ``{"hub_cache", "canary_repo", "canary_commit", "canary_snapshot",
    "qwen_repo", "qwen_commit", "qwen_snapshot", "files": {repo: [files]}}``.
    """
    import torch

    hub_cache = Path(hub_cache)
    hub_cache.mkdir(parents=True, exist_ok=True)
    _seed_everything()
    with _quiet_nemo(), tempfile.TemporaryDirectory(prefix="tiny_canary_") as tmp:
        from nemo.collections.speechlm2.models import SALM

        tmp = Path(tmp)
        qwen_dir = tmp / "qwen"
        qwen_files = _write_tiny_qwen(qwen_dir)
        hidden_size = json.loads((qwen_dir / "config.json").read_text())["hidden_size"]

        model = SALM(_salm_config(qwen_dir, hidden_size))
        if nonempty_text:
            with torch.no_grad():
                model.llm.base_model.model.model.norm.weight.zero_()
        model.eval()
        save_dir = tmp / "canary"
        model.save_pretrained(save_dir)

        cfg = json.loads((save_dir / "config.json").read_text())
        cfg["pretrained_llm"] = qwen_repo
        cfg.pop("tokenizer_path", None)
        (save_dir / "config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
        canary_files = ["config.json", "model.safetensors"]

        qwen_snapshot = _put_in_hub_cache(
            hub_cache, qwen_repo, qwen_commit, {f: qwen_dir / f for f in qwen_files}, write_ref=False
        )
        canary_snapshot = _put_in_hub_cache(
            hub_cache, canary_repo, canary_commit, {f: save_dir / f for f in canary_files}, write_ref=True
        )
    return {
        "hub_cache": hub_cache,
        "canary_repo": canary_repo,
        "canary_commit": canary_commit,
        "canary_snapshot": canary_snapshot,
        "qwen_repo": qwen_repo,
        "qwen_commit": qwen_commit,
        "qwen_snapshot": qwen_snapshot,
        "files": {canary_repo: canary_files, qwen_repo: qwen_files},
    }


# --------------------------------------------------------------------------- a tiny CTC model


def build_tiny_ctc(nemo_path: Path) -> Path:
    """Build a tiny FastConformer-CTC ``EncDecCTCModelBPE`` (another kind of ``.nemo`` ASR model)
    and ``save_to`` ``nemo_path``. Its output layer is biased so greedy CTC decoding of any
    audio emits one word, the vocabulary's longest whole-word piece (a non-empty transcript).
    Returns ``nemo_path``."""
    import torch

    nemo_path = Path(nemo_path)
    nemo_path.parent.mkdir(parents=True, exist_ok=True)
    _seed_everything()
    with _quiet_nemo():
        with tempfile.TemporaryDirectory(prefix="tiny_ctc_") as tmp:
            model = _tiny_ctc(_train_sentencepiece_bpe(Path(tmp) / "tokenizer"))
            pieces = model.tokenizer.tokenizer  # the SentencePiece processor
            word = max((i for i in range(pieces.get_piece_size()) if pieces.id_to_piece(i).startswith("\u2581")),
                       key=lambda i: len(pieces.id_to_piece(i)))
            ids = [word]
            final = model.decoder.decoder_layers[-1]
            with torch.no_grad():
                final.weight.zero_()
                final.bias.fill_(-5.0)
                final.bias[ids[0]] = 5.0
            model.eval()
            with torch.no_grad():
                model.save_to(str(nemo_path))
    return nemo_path


# --------------------------------------------------------------------------- Canary-1B-v2 (AED multitask)

# What the tiny Canary-1B-v2 writes for any audio, whatever the prompt (see _script_aed_transcript).
CANARY_V2_SENTENCE = "guten tag."
CANARY_V2_LANGUAGES = ("bg", "hr", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "el", "hu", "it", "lv", "lt",
                       "mt", "pl", "pt", "ro", "ru", "sk", "sl", "es", "sv", "uk")
# The canary2 prompt's tokens (NeMo's CanaryTokenizer defaults, then the slots' literals and the languages): in the
# real model they are pieces of its one unified SentencePiece tokenizer, as here.
_CANARY_SPECIAL_TOKENS = (
    ["<|nospeech|>", "<pad>", "<|endoftext|>", "<|startoftranscript|>", "<|pnc|>", "<|nopnc|>",
     "<|startofcontext|>", "<|itn|>", "<|noitn|>", "<|timestamp|>", "<|notimestamp|>", "<|diarize|>",
     "<|nodiarize|>", "<|emo:undefined|>", "<|emo:neutral|>", "<|emo:angry|>", "<|emo:happy|>", "<|emo:sad|>"]
    + [f"<|{code}|>" for code in CANARY_V2_LANGUAGES])


def _train_canary_tokenizer(out_dir: Path) -> Path:
    """One SentencePiece BPE over the European corpus with the prompt's tokens as whole pieces (user symbols)."""
    import io

    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    model_bytes = io.BytesIO()
    spm.SentencePieceTrainer.Train(
        sentence_iterator=iter(EUROPEAN_TEXT.splitlines() * 4), model_writer=model_bytes,
        vocab_size=96 + len(_CANARY_SPECIAL_TOKENS), model_type="bpe", character_coverage=1.0, bos_id=-1, eos_id=-1,
        user_defined_symbols=_CANARY_SPECIAL_TOKENS, hard_vocab_limit=False, shuffle_input_sentence=False,
        remove_extra_whitespaces=False, num_threads=1, minloglevel=2)
    (out_dir / "tokenizer.model").write_bytes(model_bytes.getvalue())
    write_vocab_files(spm.SentencePieceProcessor(model_proto=model_bytes.getvalue()), out_dir)
    return out_dir


def _canary_v2_config(tokenizer_dir: Path) -> dict:
    """nvidia/canary-1b-v2's config layout (FastConformer encoder, pre-LN transformer decoder with a tied token
    classifier, canary2 prompt, beam decoding of width 1) at a tiny size."""
    d_model = 64
    return {
        "sample_rate": 16000, "prompt_format": "canary2",
        "prompt_defaults": [{"role": "user", "slots": {
            "decodercontext": "", "source_lang": "<|en|>", "target_lang": "<|en|>", "emotion": "<|emo:undefined|>",
            "pnc": "<|pnc|>", "itn": "<|noitn|>", "diarize": "<|nodiarize|>", "timestamp": "<|notimestamp|>"}}],
        "model_defaults": {"asr_enc_hidden": d_model, "lm_enc_hidden": d_model, "lm_dec_hidden": d_model},
        "tokenizer": {"dir": str(tokenizer_dir), "type": "bpe", "custom_tokenizer": {
            "_target_": "nemo.collections.common.tokenizers.canary_tokenizer.CanaryBPETokenizer"}},
        "preprocessor": dict(MEL_PREPROCESSOR),
        "encoder": _fastconformer(2, d_model, n_heads=4, conv_channels=32),
        "transf_decoder": {
            "_target_": "nemo.collections.asr.modules.transformer.get_nemo_transformer", "model_name": None,
            "pretrained": False, "encoder": None, "pre_ln_final_layer_norm": True,
            "config_dict": {"max_sequence_length": 512, "num_token_types": 0, "hidden_size": d_model,
                            "inner_size": 4 * d_model, "num_layers": 1, "num_attention_heads": 2, "pre_ln": True,
                            "vocab_size": None}},
        "head": {"_target_": "nemo.collections.asr.parts.submodules.token_classifier.TokenClassifier",
                 "num_layers": 1, "activation": "relu", "log_softmax": True, "hidden_size": d_model,
                 "num_classes": None},
        "decoding": {"strategy": "beam", "beam": {"beam_size": 1, "len_pen": 0.0, "max_generation_delta": 50}},
        "loss": {"_target_": "nemo.collections.common.losses.smoothed_cross_entropy.SmoothedCrossEntropyLoss",
                 "label_smoothing": 0.0},
    }


def _script_aed_transcript(model, sentence: str) -> None:
    """Make the decoder write ``sentence`` (its tokens must differ) after any prompt (:func:`script_aed_chain`)."""
    tokenizer = model.tokenizer
    ids = list(tokenizer.text_to_ids(sentence))
    assert len(set(ids)) == len(ids), f"tokens of {sentence!r} must differ: {tokenizer.text_to_tokens(sentence)}"
    script_aed_chain(model, ids)


def script_aed_chain(model, ids: list[int]) -> None:
    """Make the decoder a chain: after the prompt's last token, the tokens ``ids``, then end of text.

    Each token of the chain gets a one-hot embedding (slot j), the attention blocks add nothing (zero output
    projections), the first layer's feed-forward block moves slot j's mass to slot j+1 and the other layers'
    add nothing; the classifier, tied to the embedding, then picks the token of slot j+1. Every layer still
    computes all it would (the cost of a real decoder); the encoder keeps its random weights and runs.
    """
    import torch

    tokenizer = model.tokenizer
    chain = [tokenizer.token_to_id("<|nodiarize|>"), *ids, tokenizer.eos_id]
    assert len(set(chain)) == len(chain), "the chain's tokens must differ"
    decoder = model.transf_decoder
    embedding = decoder.embedding.token_embedding.weight
    assert model.log_softmax.mlp.layer0.weight is embedding and len(chain) <= embedding.shape[1]
    layers = decoder.decoder.layers
    with torch.no_grad():
        embedding.zero_()
        for slot, token in enumerate(chain):
            embedding[token, slot] = 30.0
        for layer in layers:
            for attention in (layer.first_sub_layer, layer.second_sub_layer):
                attention.out_projection.weight.zero_()
                attention.out_projection.bias.zero_()
            layer.third_sub_layer.dense_out.weight.zero_()
            layer.third_sub_layer.dense_out.bias.zero_()
            for norm in (layer.layer_norm_1, layer.layer_norm_2, layer.layer_norm_3):
                norm.weight.fill_(1.0)
                norm.bias.zero_()
        feed_forward = layers[0].third_sub_layer
        feed_forward.dense_in.weight.zero_()
        feed_forward.dense_in.bias.fill_(-4.0)
        for slot in range(len(chain) - 1):
            feed_forward.dense_in.weight[slot, slot] = 1.0
            feed_forward.dense_out.weight[slot + 1, slot] = 5.0
            feed_forward.dense_out.weight[slot, slot] = -2.0
        for norm in (decoder.embedding.layer_norm, decoder.decoder.final_layer_norm):
            norm.weight.fill_(1.0)
            norm.bias.zero_()
        model.log_softmax.mlp.layer0.bias.zero_()


def _tiny_ctc(tokenizer_dir: Path, parakeet: dict | None = None):
    """A FastConformer-CTC ``EncDecCTCModelBPE`` with the given tokenizer (random weights): tiny, or with the
    encoder of ``parakeet`` (a Parakeet config, :func:`_parakeet_config`'s layout)."""
    from nemo.collections.asr.models import EncDecCTCModelBPE
    from omegaconf import OmegaConf

    parakeet = parakeet or _parakeet_config(tokenizer_dir)
    cfg = {key: parakeet[key] for key in ("sample_rate", "train_ds", "validation_ds", "test_ds",
                                          "tokenizer", "preprocessor", "spec_augment", "encoder")}
    cfg["decoder"] = {"_target_": "nemo.collections.asr.modules.ConvASRDecoder",
                      "feat_in": parakeet["encoder"]["d_model"], "num_classes": -1, "vocabulary": []}
    cfg["decoding"] = {"strategy": "greedy_batch"}
    return EncDecCTCModelBPE(cfg=OmegaConf.create(cfg))


def _add_timer_model(nemo_path: Path, timer_nemo: Path) -> None:
    """Put the timer model's config and weights (as ``timestamps_asr_model_*``) and its tokenizer files into
    ``nemo_path``, as canary-1b-v2.nemo holds them."""
    import tarfile

    joined = nemo_path.with_suffix(".joining")
    with tarfile.open(nemo_path, "r:") as main, tarfile.open(timer_nemo, "r:") as timer, \
            tarfile.open(joined, "w:") as out:
        for member in main.getmembers():
            out.addfile(member, main.extractfile(member) if member.isfile() else None)
        for member in (m for m in timer.getmembers() if m.isfile()):
            name = Path(member.name).name
            if name in ("model_config.yaml", "model_weights.ckpt"):
                member.name = "./timestamps_asr_" + name
            out.addfile(member, timer.extractfile(member))
    joined.replace(nemo_path)


def build_tiny_canary_v2(nemo_path: Path, sentence: str = CANARY_V2_SENTENCE, timer: bool = True) -> Path:
    """Build a tiny Canary-1B-v2 (``EncDecMultiTaskModel``, canary2 prompt, ~0.2 M parameters) and ``save_to``
    ``nemo_path``, with a tiny CTC timer model inside (``timer``), as the real file holds one for NeMo's forced
    alignment. Its decoder is scripted (:func:`_script_aed_transcript`) to write ``sentence`` for any audio and any
    prompt, so its text is known; its word and segment times come from the timer's alignment. Returns ``nemo_path``.
    """
    import torch
    from omegaconf import OmegaConf

    nemo_path = Path(nemo_path)
    nemo_path.parent.mkdir(parents=True, exist_ok=True)
    _seed_everything()
    with _quiet_nemo():
        from nemo.collections.asr.models import EncDecMultiTaskModel

        with tempfile.TemporaryDirectory(prefix="tiny_canary_v2_") as tmp:
            tokenizer_dir = _train_canary_tokenizer(Path(tmp) / "tokenizer")
            with outside_a_restore():
                model = EncDecMultiTaskModel(cfg=OmegaConf.create(_canary_v2_config(tokenizer_dir)))
            _script_aed_transcript(model, sentence)
            model.eval()
            with torch.no_grad():
                model.save_to(str(nemo_path))
                if timer:
                    timer_nemo = Path(tmp) / "timer.nemo"
                    _tiny_ctc(tokenizer_dir).eval().save_to(str(timer_nemo))
                    _add_timer_model(nemo_path, timer_nemo)
    return nemo_path


# --------------------------------------------------------------------------- Sortformer diarizer


def _sortformer_config(streaming: bool) -> dict:
    """The config layout of nvidia/diar_streaming_sortformer_4spk-v2, at a tiny size.

    The real model: a 17-layer FastConformer (NEST) encoder at d_model 512, a
    projection to 192, an 18-layer post-LN transformer encoder, and the
    ``sortformer_modules`` head with 4 speaker outputs; streaming with a speaker
    cache of 188 frames. Here: one layer each, d_model 32 and 16, and streaming
    chunks small enough that a few seconds of audio take several steps.
    """
    fc_d_model, tf_d_model = 32, 16
    return {
        "sample_rate": 16000,
        "max_num_of_spks": 4,
        "streaming_mode": streaming,
        "model_defaults": {"fc_d_model": fc_d_model, "tf_d_model": tf_d_model},
        "preprocessor": {**MEL_PREPROCESSOR, "normalize": "NA", "dither": 0.0},
        "encoder": _fastconformer(1, fc_d_model, n_heads=2, conv_channels=16),
        "transformer_encoder": {
            "_target_": "nemo.collections.asr.modules.transformer.transformer_encoders.TransformerEncoder",
            "num_layers": 1, "hidden_size": tf_d_model, "inner_size": 32, "num_attention_heads": 2,
            "attn_score_dropout": 0.5, "attn_layer_dropout": 0.5, "ffn_dropout": 0.5, "hidden_act": "relu",
            "pre_ln": False, "pre_ln_final_layer_norm": True,
        },
        "sortformer_modules": {
            "_target_": "nemo.collections.asr.modules.sortformer_modules.SortformerModules",
            "num_spks": 4, "dropout_rate": 0.5, "fc_d_model": fc_d_model, "tf_d_model": tf_d_model,
            "subsampling_factor": 8, "spkcache_len": 24, "fifo_len": 12, "chunk_len": 12,
            "spkcache_update_period": 12, "chunk_left_context": 1, "chunk_right_context": 1,
            "spkcache_sil_frames_per_spk": 3,
        },
        "loss": {"_target_": "nemo.collections.asr.losses.bce_loss.BCELoss", "weight": None, "reduction": "mean"},
    }


def build_tiny_diarizer(nemo_path: Path, streaming: bool = True) -> Path:
    """Build a tiny ``SortformerEncLabelModel`` (random weights) and ``save_to`` ``nemo_path``.

    ``streaming=True`` is the streaming Sortformer (speaker cache and FIFO, as
    diar_streaming_sortformer_4spk-v2); ``False`` the offline one. Returns ``nemo_path``.
    """
    import torch
    from omegaconf import OmegaConf

    nemo_path = Path(nemo_path)
    nemo_path.parent.mkdir(parents=True, exist_ok=True)
    _seed_everything()
    with _quiet_nemo():
        from nemo.collections.asr.models import SortformerEncLabelModel

        model = SortformerEncLabelModel(cfg=OmegaConf.create(_sortformer_config(streaming)))
        model.eval()
        with torch.no_grad():
            model.save_to(str(nemo_path))
    return nemo_path
