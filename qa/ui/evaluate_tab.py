"""The Evaluate tab (placeholder until `qa.evaluate` exposes its API)."""

from __future__ import annotations

import gradio as gr


def build_evaluate_tab(service, configs: list[str]) -> None:
    """Lay out the Evaluate tab inside the current `gr.Tab`."""
    gr.Markdown("Evaluation not available yet.")
