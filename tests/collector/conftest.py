from collections.abc import Callable
from pathlib import Path

import pytest
from litestar import Litestar

from collector import public_app
from collector.settings import CollectorSettings, Site
from collector.spool import Spool


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def make_spool(spool_dir: Path) -> Callable[..., Spool]:
    def make(max_bytes: int = 2**30, segment_records: int = 1000, segment_seconds: float = 0.2) -> Spool:
        return Spool(spool_dir, max_bytes=max_bytes, segment_records=segment_records, segment_seconds=segment_seconds)

    return make


@pytest.fixture
def make_public(make_spool) -> Callable[..., Litestar]:
    """A public app over a fresh spool; sites and settings as the test needs them."""

    def make(sites: list[Site] | None = None, spool: Spool | None = None, **settings) -> Litestar:
        sites = sites or [Site(id="default", origins=["*"])]
        return public_app(CollectorSettings(**settings), sites, spool or make_spool())

    return make
