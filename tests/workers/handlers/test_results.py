"""`ToolResult`: a result with session variables and context, and how any return value is taken apart."""

from __future__ import annotations

from typing import Any

import pytest

from service.evi.messages import Context, ContextType, SessionSettings
from workers.handlers.results import ResultParts, ToolResult, result_parts


def test_a_plain_value_sets_nothing_in_the_session() -> None:
    assert result_parts("Booked.") == ResultParts("Booked.", plain_text=True)
    assert result_parts({"ok": True}) == ResultParts('{"ok":true}', plain_text=False)
    assert result_parts("Booked.").session_settings() is None


def test_variables_become_text_and_a_str_context_is_persistent() -> None:
    parts = result_parts(
        ToolResult(content={"ref": "B-1"}, variables={"ref": "B-1", "guests": 4, "vip": True}, context="A regular.")
    )
    assert (parts.content, parts.plain_text) == ('{"ref":"B-1"}', False)
    assert parts.session_settings("session-1") == SessionSettings(
        variables={"ref": "B-1", "guests": "4", "vip": "true"},
        context=Context(text="A regular.", type=ContextType.PERSISTENT),
        custom_session_id="session-1",
    )


def test_a_context_object_is_sent_as_given() -> None:
    temporary = Context(text="Mention the terrace.", type=ContextType.TEMPORARY)
    settings = result_parts(ToolResult(content="Booked.", context=temporary)).session_settings()
    assert settings is not None and settings.context == temporary and settings.variables is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"variables": {"": "x"}}, "non-empty string names"),
        ({"variables": {"when": object()}}, "variable 'when' must be a str, int, float or bool"),
        ({"variables": {"items": [1]}}, "variable 'items' must be a str, int, float or bool"),
        ({"context": 3}, "context= must be a str or a Context"),
    ],
)
def test_a_wrong_result_is_a_type_error_naming_the_field(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        ToolResult(content="x", **options)
