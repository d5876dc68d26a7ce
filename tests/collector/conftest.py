from collections.abc import Callable
from pathlib import Path

import pytest
from litestar import Litestar

from collector import public_app
from collector.settings import CollectorSettings, Site
from collector.spool import Spool, Spools
from tests.conftest import CONSENT_KEY


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def make_spool(spool_dir: Path) -> Callable[..., Spool]:
    def make(max_bytes: int = 2**30, segment_records: int = 1000, segment_seconds: float = 0.2) -> Spool:
        return Spool(spool_dir, max_bytes=max_bytes, segment_records=segment_records, segment_seconds=segment_seconds)

    return make


@pytest.fixture
def make_spools(tmp_path: Path) -> Callable[..., Spools]:
    def make(max_bytes: int = 2**30, segment_records: int = 1000, segment_seconds: float = 0.2) -> Spools:
        return Spools.open(tmp_path / "spools", max_bytes=max_bytes, segment_records=segment_records,
                           segment_seconds=segment_seconds)

    return make


@pytest.fixture
def make_public(make_spools) -> Callable[..., Litestar]:
    """A public app over fresh spools; sites and settings as the test needs them."""

    def make(sites: list[Site] | None = None, spools: Spools | None = None, **settings) -> Litestar:
        sites = sites or [Site(id="default", origins=["*"])]
        return public_app(CollectorSettings(**settings), sites, spools or make_spools(), CONSENT_KEY)

    return make
