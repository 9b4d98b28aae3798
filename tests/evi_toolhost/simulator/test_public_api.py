"""The names other code relies on: `evi_toolhost.simulator.__all__` and the signatures of its entry points."""

from __future__ import annotations

import inspect

import evi_toolhost.simulator as simulator
from evi_toolhost.commands.simulate import configure, run
from evi_toolhost.simulator import SimulatorState, create_simulator_app, play, play_sync


def test_exported_names() -> None:
    assert sorted(simulator.__all__) == [
        "CallReport",
        "Chat",
        "PlayReport",
        "PlayerError",
        "ReceivedMessage",
        "Script",
        "ScriptError",
        "SimulatorState",
        "Subscription",
        "WebhookDelivery",
        "create_simulator_app",
        "load_script",
        "parse_script",
        "play",
        "play_sync",
    ]
    assert all(hasattr(simulator, name) for name in simulator.__all__)


def test_entry_point_signatures() -> None:
    assert (
        str(inspect.signature(create_simulator_app))
        == "(api_key: 'str', state: 'SimulatorState | None' = None) -> 'Starlette'"
    )
    assert str(inspect.signature(SimulatorState.start_chat)) == (
        "(self, *, chat_id: 'str | None' = None, chat_group_id: 'str | None' = None, config_id: 'str | None' = None, "
        "custom_session_id: 'str | None' = None, caller_number: 'str | None' = None, allow_connection: 'bool' = True"
        ") -> 'Chat'"
    )
    expected_play = (
        "(script: 'Script', *, webhook_url: 'str', simulator_url: 'str', api_key: 'str', signing_key: 'str', "
        "answer_timeout: 'float' = 10.0) -> 'PlayReport'"
    )
    assert str(inspect.signature(play)) == str(inspect.signature(play_sync)) == expected_play
    assert inspect.iscoroutinefunction(play)
    assert str(inspect.signature(configure)) == "(parser: 'argparse.ArgumentParser') -> 'None'"
    assert str(inspect.signature(run)) == "(args: 'argparse.Namespace') -> 'int'"


def test_app_exposes_its_state() -> None:
    state = SimulatorState()
    assert create_simulator_app("key", state).state.simulator is state
    assert isinstance(create_simulator_app("key").state.simulator, SimulatorState)
