"""The baseline of figure 1: a bare Gradio Blocks app with one Markdown, launched as the studio is.

``python benchmarks/bare_gradio.py --port P`` serves it on 127.0.0.1:P.
"""

import argparse

import gradio as gr

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args()
    with gr.Blocks() as demo:
        gr.Markdown("Hello")
    demo.launch(server_name="127.0.0.1", server_port=args.port)
