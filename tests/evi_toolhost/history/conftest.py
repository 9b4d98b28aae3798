"""The simulator on a real socket as Hume's API (fixtures in `tests.support.hume_api`)."""

from tests.support.hume_api import api, hume, sent, simulator, simulator_server, state  # noqa: F401
