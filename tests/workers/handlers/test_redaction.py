"""`@tool(redact=...)`: the option's check, and a call's arguments with the named values taken out."""

from __future__ import annotations

import json

import pytest

from workers.handlers.redaction import (
    NOT_AN_OBJECT,
    REDACTED,
    check_redact,
    redact_parameters,
    scrub,
    sensitive_values,
)

CARD = frozenset({"card_number"})


def test_check_redact_takes_parameter_names_and_refuses_anything_else() -> None:
    assert check_redact("pay", None, ["card_number", "amount"]) == frozenset()
    assert check_redact("pay", ["card_number"], ["card_number", "amount"]) == CARD
    with pytest.raises(ValueError, match=r"tool 'pay': redact= names 'card', which is not a parameter of it"):
        check_redact("pay", ["card"], ["card_number", "amount"])
    with pytest.raises(TypeError, match=r"a list of parameter names \(redact=\['card_number'\]\), not str"):
        check_redact("pay", "card_number", ["card_number"])
    with pytest.raises(TypeError, match="parameter names"):
        check_redact("pay", [1], ["card_number"])


def test_the_named_values_are_replaced_and_the_rest_kept() -> None:
    text, names = redact_parameters('{"card_number": "4111 1111", "amount": 5}', CARD)
    assert (json.loads(text), names) == ({"card_number": REDACTED, "amount": 5}, ["card_number"])
    # Absent from this call: nothing to replace, the text is kept as EVI sent it.
    assert redact_parameters('{"amount": 5}', CARD) == ('{"amount": 5}', [])
    assert redact_parameters('{"card_number": "x"}', frozenset()) == ('{"card_number": "x"}', [])


def test_arguments_that_cannot_be_read_are_replaced_whole() -> None:
    for unreadable in ('{"card_number": "4111', '["4111"]'):
        assert redact_parameters(unreadable, CARD) == (json.dumps(NOT_AN_OBJECT), ["card_number"])


def test_sensitive_values_are_every_string_and_number_inside_longest_first() -> None:
    parameters = json.dumps({"card_number": {"pan": "4111111111111111", "cvc": 123, "tag": 'a"b"cd', "ok": True}})
    assert sensitive_values(parameters, CARD) == ("4111111111111111", 'a\\"b\\"cd', 'a"b"cd')
    assert sensitive_values('{"card_number": "4111"}', frozenset()) == ()
    assert sensitive_values('{"card_number": 4111', CARD) == ('{"card_number": 4111',)


def test_scrub_replaces_each_value() -> None:
    values = sensitive_values('{"card_number": "4111111111111111"}', CARD)
    assert scrub("card 4111111111111111 declined", values) == "card *** declined"
    assert scrub("nothing here", values) == "nothing here"
