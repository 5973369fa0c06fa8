"""Benchmarks of the transcription studio against raw NeMo and bare Gradio, measured in the same run. See README.md."""
