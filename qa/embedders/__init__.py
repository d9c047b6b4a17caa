"""Embedders: text -> unit vectors (torch, ONNX Runtime), and where embedding runs (engines)."""
