"""Embedding engines other than this process (`Settings.engine`): `ray` (ray_engine.py)."""
