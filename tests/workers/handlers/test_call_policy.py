"""The `@tool` options about what the caller hears and what stops a call: checked when the decorator runs."""

from __future__ import annotations

from typing import Any

import pytest

from workers.handlers.call_policy import DEFAULT_ACK, DEFAULT_POLICY, CallPolicy
from workers.handlers.registry import Registry


def registered_policy(registry: Registry, **options: Any) -> CallPolicy:
    @registry.tool(name="probe", **options)
    def probe() -> None: ...

    found = registry.get("probe")
    assert found is not None
    return found.policy


def test_a_tool_without_the_options_has_the_default_policy(registry: Registry) -> None:
    assert registered_policy(registry) == DEFAULT_POLICY
    assert (DEFAULT_POLICY.on_chat_end, DEFAULT_POLICY.cancel_on_interrupt, DEFAULT_POLICY.background) == (
        "cancel",
        False,
        False,
    )


def test_speech_options_are_kept_and_one_phrase_is_a_list_of_one(registry: Registry) -> None:
    policy = registered_policy(registry, say_on_start="One moment.", say_if_slow="Still here.", slow_after=1)
    assert (policy.say_on_start, policy.say_if_slow, policy.slow_after) == ("One moment.", ("Still here.",), 1.0)
    assert registered_policy(Registry(), say_if_slow=["A.", "B."]).say_if_slow == ("A.", "B.")
    assert registered_policy(Registry(), say_if_slow=[]).say_if_slow == ()


def test_a_background_tool_gets_the_default_ack_and_announces(registry: Registry) -> None:
    policy = registered_policy(registry, background=True)
    assert (policy.background, policy.ack, policy.announce) == (True, DEFAULT_ACK, True)
    quiet = registered_policy(Registry(), background=True, ack="Started.", announce=False)
    assert (quiet.ack, quiet.announce) == ("Started.", False)


def test_a_background_tool_is_answered_by_its_ack_so_evi_waits_the_default_deadline(registry: Registry) -> None:
    @registry.tool(timeout=120, background=True)
    def long_job() -> None: ...

    @registry.tool(timeout=3)
    def short_job() -> None: ...

    assert [tool.answer_timeout for tool in registry.tools()] == [None, 3.0]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"say_on_start": 1}, TypeError, "say_on_start= must be a string"),
        ({"say_on_start": "  "}, ValueError, "say_on_start= must not be empty"),
        ({"say_if_slow": [1]}, TypeError, "say_if_slow= must be a phrase or a list"),
        ({"say_if_slow": ["ok", ""]}, TypeError, "say_if_slow= must be a phrase or a list"),
        ({"say_if_slow": 5}, TypeError, "say_if_slow= must be a phrase or a list"),
        ({"slow_after": 0}, ValueError, "slow_after= must be a positive number"),
        ({"slow_after": "1"}, ValueError, "slow_after= must be a positive number"),
        ({"slow_after": True}, ValueError, "slow_after= must be a positive number"),
        ({"background": "yes"}, TypeError, "background= must be True or False"),
        ({"cancel_on_interrupt": 1}, TypeError, "cancel_on_interrupt= must be True or False"),
        ({"announce": "no", "background": True}, TypeError, "announce= must be True or False"),
        ({"on_chat_end": "abort"}, ValueError, "on_chat_end= must be 'cancel' or 'finish'"),
        ({"ack": "Started."}, ValueError, "ack= applies only to background=True"),
        ({"announce": False}, ValueError, "announce= applies only to background=True"),
        ({"background": True, "say_if_slow": "Still."}, ValueError, "do not apply to background=True"),
        ({"background": True, "slow_after": 2}, ValueError, "do not apply to background=True"),
        ({"background": True, "cancel_on_interrupt": True}, ValueError, "EVI is not waiting for a background"),
        ({"background": True, "ack": 3}, TypeError, "ack= must be a string"),
    ],
)
def test_a_wrong_option_fails_at_import_naming_it(
    registry: Registry, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):

        @registry.tool(**options)
        def probe() -> None: ...

    assert registry.names() == []


def test_a_misspelt_option_lists_the_new_ones(registry: Registry) -> None:
    options: dict[str, Any] = {"say_when_slow": "Still."}
    with pytest.raises(TypeError, match=r"unknown option.*say_when_slow.*say_if_slow, slow_after, background"):
        registry.tool(**options)
