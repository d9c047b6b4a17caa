"""Gradio UI entry point: `python app.py [--index DIR] [--host H] [--port P]`.

`build_demo(...)` builds the page without loading any model; launching happens only under
`__main__`.
"""

from __future__ import annotations

import argparse
import html
import os

import gradio as gr

from qa.config import DEFAULT_INDEX_DIR
from qa.errors import QAError


def build_demo(index_dir: str = DEFAULT_INDEX_DIR, index=None) -> gr.Blocks:
    state = {"index": index}

    def get_index():
        if state["index"] is None:
            from qa import Index

            state["index"] = Index.load(index_dir)
        return state["index"]

    def ask(question: str, k: int):
        try:
            hits = get_index().search(question, k=int(k))
        except QAError as e:
            return f"<p class='qa-error'>{html.escape(str(e))}</p>"
        cards = []
        for h in hits:
            a = h.article
            cards.append(
                f"<div class='qa-card'><b>[{h.rank}] {html.escape(a.title)}</b> — "
                f"{html.escape(a.source)} {html.escape(a.date)} "
                f"<small>({html.escape(h.doc_id)}, chars {h.passage.char_start}–{h.passage.char_end})</small>"
                f"<p>{html.escape(h.text)}</p></div>")
        return "\n".join(cards) or "<p>No passage found.</p>"

    with gr.Blocks(title="qa — cited answers from news") as demo:
        gr.Markdown("# qa — cited passages from your news articles")
        question = gr.Textbox(label="Question", placeholder="What did Russia propose on decarbonization?")
        k = gr.Slider(1, 20, value=5, step=1, label="Passages")
        out = gr.HTML()
        question.submit(ask, [question, k], out, api_name="ask")
    return demo


def main() -> None:
    p = argparse.ArgumentParser(description="Serve the qa web UI.")
    p.add_argument("--index", default=os.environ.get("QA_INDEX", DEFAULT_INDEX_DIR))
    p.add_argument("--host", default=os.environ.get("QA_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("QA_PORT", "7860")))
    args = p.parse_args()
    build_demo(args.index).launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
