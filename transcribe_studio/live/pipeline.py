"""NeMo's own streaming pipeline (``BufferedRNNTPipeline``, TDT included) around the model the cache holds (an RNNT
or TDT model whose spec says ``live``).

NeMo 3.0's model wrappers always load their own model (``RNNTInferenceWrapper(model_name, ...)``): a subclass
whose ``load_model`` returns the cached one avoids a second load. The wrapper puts its greedy decoding on the model
and sets its dither to zero; :func:`..models.shared_decoding.taken_for` keeps that apart from the file jobs'.

The chunk and contexts (:class:`LiveOptions`) decide the delay: a word is first shown once the chunk it falls in
has arrived and been heard (chunk + compute: the "partial" text, which the right context may still change), and
settled once the right context after it has been heard too (chunk + right context + compute). NeMo's published
``buffered_rnnt.yaml`` uses 4.8 s chunks with 1.6 s on each side, for throughput; captions start from 0.8 s chunks
with 1.6 s of right context, as the Open ASR Leaderboard's streaming runs do, and 5.6 s on the left.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..media import SAMPLE_RATE


@dataclass(frozen=True)
class LiveOptions:
    """The streaming pipeline's framing, in seconds (multiples of the model's 80 ms step)."""
    chunk_seconds: float = 0.8
    left_seconds: float = 5.6
    right_seconds: float = 1.6
    pause_ms: int = 800  # this much silence after words ends an utterance (NeMo's endpointing)
    # the longest recording one stream keeps (16 kHz float32 in memory until Stop: 4 hours are 0.9 GB)
    max_seconds: float = 4 * 3600.0

    @property
    def chunk_samples(self) -> int:
        return round(self.chunk_seconds * SAMPLE_RATE)


def pipeline_config(options: LiveOptions, device: str, dtype: str):
    """The pipeline's configuration: NeMo's ``buffered_rnnt.yaml`` with the framing of ``options``, frames of audio
    as requests, greedy decoding without CUDA graphs (several streams go through one call), no ITN or translation."""
    from omegaconf import OmegaConf

    return OmegaConf.create({
        "asr": {"model_name": "cached.nemo", "device": device, "device_id": 0, "compute_dtype": dtype,
                "use_amp": False,
                "decoding": {"strategy": "greedy_batch", "preserve_alignments": False, "fused_batch_size": -1,
                             "greedy": {"use_cuda_graph_decoder": False, "max_symbols": 10}}},
        "itn": {"input_case": "lower_cased", "whitelist": None, "overwrite_cache": False,
                "max_number_of_permutations_per_split": 729, "left_padding_size": 4, "batch_size": 32, "n_jobs": 1},
        "confidence": {"exclude_blank": True, "aggregation": "mean",
                       "method_cfg": {"name": "entropy", "entropy_type": "tsallis", "alpha": 0.5,
                                      "entropy_norm": "exp"}},
        "endpointing": {"stop_history_eou": options.pause_ms, "residue_tokens_at_end": 2},
        "streaming": {"sample_rate": SAMPLE_RATE, "batch_size": 64, "left_padding_size": options.left_seconds,
                      "right_padding_size": options.right_seconds, "chunk_size": options.chunk_seconds,
                      "word_boundary_tolerance": 4, "request_type": "frame", "stateful": True,
                      "padding_mode": "right"},
        "enable_itn": False, "enable_nmt": False, "asr_output_granularity": "segment", "return_tail_result": False,
        "lang": None, "pipeline_type": "buffered", "asr_decoding_type": "rnnt",
    })


def build_pipeline(model, options: LiveOptions):
    """A ``BufferedRNNTPipeline`` over ``model`` (already loaded; call it inside the live use of the model)."""
    import torch
    from nemo.collections.asr.inference.factory.buffered_pipeline_builder import BufferedPipelineBuilder
    from nemo.collections.asr.inference.model_wrappers.rnnt_inference_wrapper import RNNTInferenceWrapper
    from nemo.collections.asr.inference.pipelines.buffered_rnnt_pipeline import BufferedRNNTPipeline

    parameter = next(model.parameters())
    device = parameter.device.type
    dtype = {torch.bfloat16: "bfloat16", torch.float16: "float16"}.get(parameter.dtype, "float32")
    config = pipeline_config(options, device, dtype)
    cached = type("CachedRNNTWrapper", (RNNTInferenceWrapper,),
                  {"load_model": staticmethod(lambda model_name, map_location: model)})
    wrapper = cached(model_name="cached.nemo", decoding_cfg=BufferedPipelineBuilder.get_rnnt_decoding_cfg(config),
                     device=device, device_id=parameter.device.index or 0, compute_dtype=dtype, use_amp=False)
    return BufferedRNNTPipeline(config, wrapper)
