"""The scanner's errors, each with a message an operator can act on."""


class ScannerError(Exception):
    """Base class for every scanner failure."""


class BrowserMissing(ScannerError):
    """Chromium or Playwright is not installed."""
