"""Benchmarks of the transcription studio against raw NeMo and bare Gradio (issue 5). See README.md."""
