"""Test doubles and helpers shared by the tests (never inside qa/)."""
