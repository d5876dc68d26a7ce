"""Structured log lines: one JSON object per line on stderr."""

import logging

from pythonjsonlogger.json import JsonFormatter


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter("{levelname}{name}{message}", style="{", timestamp="time",
                                       rename_fields={"levelname": "level"}))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn narrates each listener's start-up; `sluice serve` logs its own, one line per listener.
    logging.getLogger("uvicorn.error").setLevel(max(logging.WARNING, root.level))
