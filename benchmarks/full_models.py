"""Full-size stand-ins for the two real models: exact architectures, random weights.

The real checkpoints cannot be downloaded here, and the figures that depend on
size (load time, peak memory, speed per minute of audio) need the real shapes:

* :func:`build_full_parakeet` - Parakeet-TDT-0.6B-v2's published architecture
  (FastConformer, 24 layers, d_model 1024, 8 heads, ff 4096, conv kernel 9,
  dw_striding x8 with 256 channels, 128 mel features, RNNT prediction net of
  2 LSTM layers of 640, joint of 640, TDT durations 0-4, 1024-token
  SentencePiece BPE vocabulary), saved as a ``.nemo`` (~2.47 GB).

  Random weights make the TDT decoder emit a token almost every frame, which
  real speech never does (and which makes decoding, not the encoder, the
  cost). So the joint's *blank* output is biased until greedy decoding of
  speech-like audio emits about :data:`TARGET_TOKENS_PER_SECOND` tokens per
  second, the rate of real speech (~150 words/min at ~1.2 tokens per word).

* :func:`build_full_canary_cache` - Canary-Qwen-2.5B's architecture (the
  ``config.json`` values of ``nvidia/canary-qwen-2.5b``: FastConformer encoder,
  32 layers, d_model 1024, LoRA r 128 on q/v) on Qwen3-1.7B's published
  configuration (hidden 2048, 28 layers, 16 heads, 8 KV heads, head_dim 128,
  intermediate 6144, vocabulary 151936, tied embeddings), saved in bf16 like
  the real checkpoint (~5.1 GB) into a Hugging Face cache laid out at the
  pinned commits (the layout code is :mod:`tests.tiny_models`'). The tokenizer
  is the tiny one of the tests: the embedding table only needs to be at least
  as large as the tokenizer. Used for load time and peak memory only.

* :func:`build_full_parakeet` with ``vocab_size=8192`` - Parakeet-TDT-0.6B-v3: v2's architecture with v3's
  8,192-piece multilingual vocabulary (the joint's output grows with it).

* :func:`build_full_canary_v2` - Canary-1B-v2's architecture (978 M parameters: Canary's 32-layer FastConformer at
  d_model 1024, an 8-layer pre-LN transformer decoder at 1024 with a classifier tied to its embedding, one
  16,384-piece tokenizer) with its ~600 M-parameter CTC timer model (Parakeet's encoder and a CTC head) inside the
  ``.nemo``, as the real file holds it. The decoder is scripted (``tests.tiny_models.script_aed_chain``) to write
  :data:`CANARY_V2_TOKENS` tokens a window, real speech's rate for 40 s, then stop: random weights would write
  to the length limit; every layer still computes what a real one does.

* :func:`build_full_sortformer` - Streaming Sortformer 4spk-v2's architecture
  (NeMo's ``streaming_sortformer_diarizer_4spk-v2.yaml``: a 17-layer FastConformer
  at d_model 512, an 18-layer post-LN transformer at 192, 4 speaker outputs),
  saved as a ``.nemo``. For diarization time and peak memory (:mod:`benchmarks.features`).

Both run in their own process (``python -m benchmarks.full_models ...``) so
their memory is returned to the system when they finish.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import tiny_models  # noqa: E402

TARGET_TOKENS_PER_SECOND = 3.0
PARAKEET_VOCAB_SIZE = 1024

# nvidia/parakeet-tdt-0.6b-v2, model_config.yaml (encoder / decoder / joint).
PARAKEET_ENCODER = {
    "n_layers": 24,
    "d_model": 1024,
    "n_heads": 8,
    "ff_expansion_factor": 4,
    "conv_kernel_size": 9,
    "subsampling": "dw_striding",
    "subsampling_factor": 8,
    "subsampling_conv_channels": 256,
    "feat_in": 128,
    "use_bias": False,
    "xscaling": True,
    "untie_biases": True,
    "self_attention_model": "rel_pos",
    "att_context_size": [-1, -1],
}
PARAKEET_PRED_HIDDEN = 640
PARAKEET_PRED_LAYERS = 2
PARAKEET_JOINT_HIDDEN = 640

# Qwen/Qwen3-1.7B config.json (published values).
QWEN3_1_7B = {
    "architectures": ["Qwen3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "head_dim": 128,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 6144,
    "max_position_embeddings": 40960,
    "max_window_layers": 28,
    "model_type": "qwen3",
    "num_attention_heads": 16,
    "num_hidden_layers": 28,
    "num_key_value_heads": 8,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000,
    "sliding_window": None,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.51.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
}

# nvidia/canary-qwen-2.5b config.json at the pinned revision (published values).
CANARY_ENCODER = {
    "n_layers": 32,
    "d_model": 1024,
    "n_heads": 8,
    "ff_expansion_factor": 4,
    "conv_kernel_size": 9,
    "feat_in": 128,
    "subsampling": "dw_striding",
    "subsampling_factor": 8,
    "subsampling_conv_channels": 256,
    "self_attention_model": "rel_pos",
    "pos_emb_max_len": 5000,
}
CANARY_LORA = {"r": 128, "lora_alpha": 256, "lora_dropout": 0.01, "task_type": "CAUSAL_LM",
               "target_modules": ["q_proj", "v_proj"]}


# nvidia/canary-1b-v2 (NVIDIA's report: 978 M parameters, 16,384-piece unified tokenizer; the decoder's depth is
# the one that makes up the count with the encoder above).
CANARY_V2_VOCAB_SIZE = 16384
CANARY_V2_DECODER = {"num_layers": 8, "hidden_size": 1024, "inner_size": 4096, "num_attention_heads": 8}
CANARY_V2_TOKENS = 120  # a 40 s window of speech at about 3 tokens a second


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------- Parakeet


def _corpus(lines: int = 6000, seed: int = 7) -> list[str]:
    """English-like text with enough variety for a 1024-piece BPE vocabulary."""
    import random

    rng = random.Random(seed)
    words = sorted(set(tiny_models.ENGLISH_TEXT.replace(".", " ").replace(",", " ").replace("?", " ")
                       .replace("!", " ").split()))
    onsets = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "y", "z",
              "br", "ch", "cl", "dr", "fl", "gr", "pl", "pr", "sh", "sl", "sp", "st", "str", "th", "tr", "wh"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "ie", "oa", "oo", "ou", "y"]
    codas = ["", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "st", "ck", "rt", "ll", "ss", "nt"]
    made = ["".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
                    for _ in range(rng.randint(1, 3))) for _ in range(5000)]
    vocabulary = words + made
    out = []
    for _ in range(lines):
        sentence = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(4, 14)))
        out.append(sentence + rng.choice([".", ".", ",", "?", "!"]))
    return out


def train_tokenizer(out_dir: Path, vocab_size: int = PARAKEET_VOCAB_SIZE, symbols: tuple[str, ...] = ()) -> Path:
    """A SentencePiece BPE tokenizer of exactly ``vocab_size`` pieces, laid out as NeMo's ``bpe`` type wants;
    ``symbols``: whole pieces it must hold (a prompt's tokens), the rest of the room filled with numbered ones
    where the corpus runs out of merges."""
    import io

    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    filler = [f"<|piece{n}|>" for n in range(max(0, vocab_size - 4000 - len(symbols)))] if symbols else []
    spm.SentencePieceTrainer.Train(sentence_iterator=iter(_corpus()), model_writer=buffer, vocab_size=vocab_size,
                                   model_type="bpe", character_coverage=1.0, bos_id=-1, eos_id=-1,
                                   user_defined_symbols=list(symbols) + filler, hard_vocab_limit=True,
                                   shuffle_input_sentence=False, num_threads=2, minloglevel=2)
    (out_dir / "tokenizer.model").write_bytes(buffer.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buffer.getvalue())
    assert sp.get_piece_size() == vocab_size, sp.get_piece_size()
    tiny_models.write_vocab_files(sp, out_dir)
    return out_dir


def parakeet_config(tokenizer_dir: Path) -> dict:
    cfg = tiny_models._parakeet_config(tokenizer_dir)
    cfg["encoder"].update(PARAKEET_ENCODER)
    cfg["model_defaults"].update(enc_hidden=PARAKEET_ENCODER["d_model"], pred_hidden=PARAKEET_PRED_HIDDEN,
                                 joint_hidden=PARAKEET_JOINT_HIDDEN)
    cfg["decoder"]["prednet"].update(pred_hidden=PARAKEET_PRED_HIDDEN, pred_rnn_layers=PARAKEET_PRED_LAYERS)
    cfg["joint"]["jointnet"]["joint_hidden"] = PARAKEET_JOINT_HIDDEN
    return cfg


def calibration_audio(seconds: float = 24.0):
    """Speech-like bursts of 1.5-6 s between pauses of 0.3-1 s, at 16 kHz."""
    import numpy as np

    from tests import media

    rng = np.random.default_rng(11)
    parts, total = [], 0.0
    while total < seconds:
        talk = float(rng.uniform(1.5, 6.0))
        pause = float(rng.uniform(0.3, 1.0))
        parts += [media.speechlike(talk, seed=int(rng.integers(1 << 30))), media.room_tone(pause, seed=len(parts))]
        total += talk + pause
    return np.concatenate(parts)[: int(seconds * 16000)]


def _emitted(model, audio) -> int:
    import torch

    with torch.inference_mode():
        hyp = model.transcribe([audio], batch_size=1, verbose=False, num_workers=0)[0]
    return len(hyp.y_sequence)


def calibrate_blank(model, audio, target: float = TARGET_TOKENS_PER_SECOND, steps: int = 12) -> dict:
    """Bisect a bias on the joint's blank logit until greedy TDT emits ``target`` tokens per second."""
    import torch

    final = model.joint.joint_net[-1]
    blank = model.tokenizer.vocab_size  # blank follows the vocabulary; the TDT durations follow it
    base = float(final.bias[blank])
    seconds = len(audio) / 16000
    low, high = 0.0, 1.0
    history = []

    def rate(bias: float) -> float:
        with torch.no_grad():
            final.bias[blank] = base + bias
        r = _emitted(model, audio) / seconds
        history.append((round(bias, 4), round(r, 3)))
        return r

    start = rate(0.0)
    while rate(high) > target and high < 64:  # grow until too few tokens
        low, high = high, high * 2
    for _ in range(steps):
        mid = (low + high) / 2
        if rate(mid) > target:
            low = mid
        else:
            high = mid
        if abs(history[-1][1] - target) <= 0.15 * target:
            break
    best = min(history, key=lambda h: abs(h[1] - target))
    with torch.no_grad():
        final.bias[blank] = base + best[0]
    return {"blank_bias": best[0], "tokens_per_second": best[1], "unbiased_tokens_per_second": round(start, 3),
            "target_tokens_per_second": target, "calibration_seconds_of_audio": seconds, "search": history}


def _save_nemo(model, nemo_path: Path) -> None:
    """``model.save_to(nemo_path)`` through a ``.part`` file, so an interrupted build leaves no finished-looking file."""
    import torch

    nemo_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = nemo_path.with_name(nemo_path.name + ".part")
    with torch.no_grad():
        model.cpu().save_to(str(tmp_path))
    os.replace(tmp_path, nemo_path)


def build_full_parakeet(nemo_path: Path, device: str = "cpu", vocab_size: int = PARAKEET_VOCAB_SIZE) -> dict:
    """Build, calibrate (on ``device``) and save the full-size Parakeet stand-in (v3's with ``vocab_size=8192``)."""
    from omegaconf import OmegaConf

    started = time.perf_counter()
    nemo_path = Path(nemo_path)
    tiny_models._seed_everything()
    with tiny_models._quiet_nemo():
        from nemo.collections.asr.models import EncDecRNNTBPEModel

        with tempfile.TemporaryDirectory(prefix="full_parakeet_") as tmp:
            tokenizer_dir = train_tokenizer(Path(tmp) / "tokenizer", vocab_size)
            cfg = OmegaConf.create(parakeet_config(tokenizer_dir))
            model = EncDecRNNTBPEModel(cfg=cfg)
            built = time.perf_counter()
            model.eval().to(device)
            calibration = calibrate_blank(model, calibration_audio())
            calibrated = time.perf_counter()
            _save_nemo(model, nemo_path)
    params = sum(p.numel() for p in model.parameters())
    return {"path": str(nemo_path), "bytes": nemo_path.stat().st_size, "parameters": params,
            "vocab_size": model.tokenizer.vocab_size, "build_seconds": round(built - started, 1),
            "calibration_seconds": round(calibrated - built, 1),
            "save_seconds": round(time.perf_counter() - calibrated, 1),
            "total_seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": round(peak_rss_mb()),
            "calibration": calibration}


def build_full_canary_v2(nemo_path: Path, device: str = "cpu") -> dict:
    """Build and save the full-size Canary-1B-v2 stand-in, its CTC timer model inside."""
    from omegaconf import OmegaConf

    started = time.perf_counter()
    nemo_path = Path(nemo_path)
    tiny_models._seed_everything()
    with tiny_models._quiet_nemo():
        from nemo.collections.asr.models import EncDecMultiTaskModel

        with tempfile.TemporaryDirectory(prefix="full_canary_v2_") as tmp:
            tokenizer_dir = train_tokenizer(Path(tmp) / "tokenizer", CANARY_V2_VOCAB_SIZE,
                                            tuple(tiny_models._CANARY_SPECIAL_TOKENS))
            cfg = tiny_models._canary_v2_config(tokenizer_dir)
            cfg["model_defaults"] = {key: 1024 for key in cfg["model_defaults"]}
            cfg["encoder"].update(CANARY_ENCODER)
            cfg["transf_decoder"]["config_dict"].update(CANARY_V2_DECODER)
            cfg["head"]["hidden_size"] = CANARY_V2_DECODER["hidden_size"]
            with tiny_models.outside_a_restore():
                model = EncDecMultiTaskModel(cfg=OmegaConf.create(cfg))
            plain = [i for i in range(model.tokenizer.vocab_size) if not model.tokenizer.ids_to_tokens([i])[0]
                     .startswith("<")]
            tiny_models.script_aed_chain(model, plain[100:100 + CANARY_V2_TOKENS])
            timer = tiny_models._tiny_ctc(tokenizer_dir, parakeet_config(tokenizer_dir))
            built = time.perf_counter()
            _save_nemo(model.eval(), nemo_path)
            timer_nemo = Path(tmp) / "timer.nemo"
            _save_nemo(timer.eval(), timer_nemo)
            tiny_models._add_timer_model(nemo_path, timer_nemo)
    return {"path": str(nemo_path), "bytes": nemo_path.stat().st_size,
            "parameters": sum(p.numel() for p in model.parameters()),
            "timer_parameters": sum(p.numel() for p in timer.parameters()),
            "vocab_size": model.tokenizer.vocab_size, "tokens_a_window": CANARY_V2_TOKENS,
            "build_seconds": round(built - started, 1), "total_seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(peak_rss_mb())}


# --------------------------------------------------------------------------- Streaming Sortformer

# NVIDIA/NeMo examples/speaker_tasks/diarization/conf/neural_diarizer/streaming_sortformer_diarizer_4spk-v2.yaml
SORTFORMER_FC_D_MODEL = 512
SORTFORMER_TF_D_MODEL = 192
SORTFORMER_ENCODER = {"n_layers": 17, "d_model": SORTFORMER_FC_D_MODEL, "n_heads": 8, "ff_expansion_factor": 4,
                      "subsampling_conv_channels": 256}
SORTFORMER_TRANSFORMER = {"num_layers": 18, "hidden_size": SORTFORMER_TF_D_MODEL, "inner_size": 768,
                          "num_attention_heads": 8}


def sortformer_config() -> dict:
    """The tests' Sortformer config layout (:mod:`tests.tiny_models`) at the published sizes."""
    cfg = tiny_models._sortformer_config(streaming=True)
    cfg["model_defaults"] = {"fc_d_model": SORTFORMER_FC_D_MODEL, "tf_d_model": SORTFORMER_TF_D_MODEL}
    cfg["encoder"].update(SORTFORMER_ENCODER)
    cfg["transformer_encoder"].update(SORTFORMER_TRANSFORMER)
    # the published training values; the app sets its own streaming setting at load (models/diarizer.py)
    cfg["sortformer_modules"].update({"fc_d_model": SORTFORMER_FC_D_MODEL, "tf_d_model": SORTFORMER_TF_D_MODEL,
                                      "spkcache_len": 188, "fifo_len": 0, "chunk_len": 188,
                                      "spkcache_update_period": 188})
    cfg["preprocessor"]["dither"] = 1e-5
    return cfg


def build_full_sortformer(nemo_path: Path, device: str = "cpu") -> dict:
    """Build and save the full-size Streaming Sortformer stand-in (random weights)."""
    from omegaconf import OmegaConf

    started = time.perf_counter()
    nemo_path = Path(nemo_path)
    tiny_models._seed_everything()
    with tiny_models._quiet_nemo():
        from nemo.collections.asr.models import SortformerEncLabelModel

        model = SortformerEncLabelModel(cfg=OmegaConf.create(sortformer_config())).eval().to(device)
        _save_nemo(model, nemo_path)
    return {"path": str(nemo_path), "bytes": nemo_path.stat().st_size,
            "parameters": sum(p.numel() for p in model.parameters()),
            "total_seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": round(peak_rss_mb())}


# --------------------------------------------------------------------------- Canary-Qwen


def salm_config(qwen_dir: Path) -> dict:
    cfg = tiny_models._salm_config(qwen_dir, QWEN3_1_7B["hidden_size"])
    cfg["perception"]["encoder"].update(CANARY_ENCODER)
    cfg["perception"]["output_dim"] = QWEN3_1_7B["hidden_size"]
    cfg["perception"]["modality_adapter"]["d_model"] = CANARY_ENCODER["d_model"]
    cfg["lora"] = dict(CANARY_LORA)
    cfg["prevent_freeze_params"] = [r"^.+\.lora_.+$"]
    return cfg


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def _put_large_blob(hub_cache: Path, repo_id: str, commit: str, rel: str, src: Path) -> None:
    """Like ``tiny_models._put_in_hub_cache`` for one large file, moved (not read into memory)."""
    repo_dir = hub_cache / ("models--" + repo_id.replace("/", "--"))
    blob = repo_dir / "blobs" / _sha256(src)
    blob.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), blob)
    link = repo_dir / "snapshots" / commit / rel
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(blob, link.parent))


def build_full_canary_cache(hub_cache: Path, *, canary_repo: str, canary_commit: str, qwen_repo: str,
                            qwen_commit: str, device: str = "cpu") -> dict:
    """Build (its random initialisation on ``device``) and save the full-size Canary-Qwen stand-in."""
    import torch

    started = time.perf_counter()
    hub_cache = Path(hub_cache)
    hub_cache.mkdir(parents=True, exist_ok=True)
    tiny_models._seed_everything()
    with tiny_models._quiet_nemo(), tempfile.TemporaryDirectory(prefix="full_canary_", dir=hub_cache) as tmp:
        from nemo.collections.speechlm2.models import SALM

        tmp = Path(tmp)
        qwen_dir = tmp / "qwen"
        qwen_files = tiny_models._write_tiny_qwen(qwen_dir)
        tiny_cfg = json.loads((qwen_dir / "config.json").read_text())
        config = dict(QWEN3_1_7B, bos_token_id=tiny_cfg["bos_token_id"], eos_token_id=tiny_cfg["eos_token_id"])
        (qwen_dir / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")

        try:
            with torch.device(device):  # random initialisation of 2.5 B weights is much faster on a GPU
                model = SALM(salm_config(qwen_dir))
        except Exception as exc:  # noqa: BLE001 - some part of the build insists on the CPU: build there
            print(f"building on {device} failed ({exc}); building on the CPU", file=sys.stderr)
            model = SALM(salm_config(qwen_dir))
        built = time.perf_counter()
        params = sum(p.numel() for p in model.parameters())
        model.eval()
        model = model.to(torch.bfloat16)  # the real checkpoint is bf16 (5.1 GB)
        save_dir = tmp / "canary"
        model.save_pretrained(save_dir)
        del model
        saved = time.perf_counter()

        cfg = json.loads((save_dir / "config.json").read_text())
        cfg["pretrained_llm"] = qwen_repo
        cfg.pop("tokenizer_path", None)
        (save_dir / "config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
        weights_bytes = (save_dir / "model.safetensors").stat().st_size

        tiny_models._put_in_hub_cache(hub_cache, qwen_repo, qwen_commit, {f: qwen_dir / f for f in qwen_files},
                                      write_ref=False)
        tiny_models._put_in_hub_cache(hub_cache, canary_repo, canary_commit,
                                      {"config.json": save_dir / "config.json"}, write_ref=True)
        _put_large_blob(hub_cache, canary_repo, canary_commit, "model.safetensors", save_dir / "model.safetensors")
    return {"hub_cache": str(hub_cache), "parameters": params, "safetensors_bytes": weights_bytes,
            "build_seconds": round(built - started, 1), "save_seconds": round(saved - built, 1),
            "total_seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": round(peak_rss_mb())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["parakeet", "parakeet-v3", "canary", "canary-v2", "sortformer"])
    parser.add_argument("--out", type=Path, required=True, help="the .nemo file, or the hub cache folder")
    parser.add_argument("--info", type=Path, required=True, help="JSON file for what was built")
    parser.add_argument("--canary-repo")
    parser.add_argument("--canary-commit")
    parser.add_argument("--qwen-repo")
    parser.add_argument("--qwen-commit")
    parser.add_argument("--device", default="cpu", help="where to initialise and calibrate (cpu or cuda)")
    args = parser.parse_args(argv)
    if args.what == "parakeet":
        info = build_full_parakeet(args.out, args.device)
    elif args.what == "parakeet-v3":
        info = build_full_parakeet(args.out, args.device, vocab_size=8192)
    elif args.what == "canary-v2":
        info = build_full_canary_v2(args.out, args.device)
    elif args.what == "sortformer":
        info = build_full_sortformer(args.out, args.device)
    else:
        info = build_full_canary_cache(args.out, canary_repo=args.canary_repo, canary_commit=args.canary_commit,
                                       qwen_repo=args.qwen_repo, qwen_commit=args.qwen_commit, device=args.device)
    args.info.write_text(json.dumps(info, indent=2), encoding="utf-8")
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
