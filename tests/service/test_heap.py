"""Start-up's objects are set aside from the garbage collector in serving processes only."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import fakeredis
import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.heap import freeze_startup_heap
from tests.conftest import make_settings


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test session's own objects stay collectable


def test_freezing_sets_every_live_object_aside() -> None:
    alive: list[object] = []
    assert any(found is alive for found in gc.get_objects())
    freeze_startup_heap()
    assert not any(found is alive for found in gc.get_objects())  # no collection walks it any more
    made_later: list[object] = []
    assert any(found is made_later for found in gc.get_objects())


@pytest.mark.parametrize("freeze", [True, False])
def test_the_served_app_freezes_at_start_and_a_test_app_does_not(freeze: bool) -> None:
    app = create_app(make_settings(), redis=fakeredis.FakeAsyncRedis(), freeze_heap=freeze)
    with TestClient(app):
        assert (gc.get_freeze_count() > 0) is freeze
