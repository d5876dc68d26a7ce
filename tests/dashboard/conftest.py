"""Fixtures for the dashboard tests live in tests/conftest.py: the browser tests share them."""
