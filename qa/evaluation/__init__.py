"""Evaluation: question sets, metrics, the runner shared by the CLI and the UI, reports."""
