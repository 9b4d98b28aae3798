"""Values hidden from the logs while their calls run: replaced in every record made meanwhile, and only then."""

from __future__ import annotations

import logging

import pytest

from workers.hidden_values import hidden

log = logging.getLogger("tests.hidden_values")


def test_a_value_is_hidden_while_its_block_runs_and_only_then(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with hidden(("4111111111111111",)):
        log.info("charging %s", "4111111111111111")
        try:
            raise ValueError("card 4111111111111111 declined")
        except ValueError:
            log.exception("the charge failed")
    log.info("after: %s", "4111111111111111")
    during, failure, after = caplog.records
    assert during.getMessage() == "charging ***"
    assert failure.exc_text is not None and "ValueError: card *** declined" in failure.exc_text
    assert "4111111111111111" not in caplog.text.split("after:")[0]
    assert after.getMessage() == "after: 4111111111111111"


def test_a_value_stays_hidden_until_every_call_carrying_it_is_done(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with hidden(("secret-one",)):
        with hidden(("secret-one", "secret-two")):
            pass
        log.info("%s %s", "secret-one", "secret-two")
    assert caplog.records[0].getMessage() == "*** secret-two"


def test_nothing_to_hide_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with hidden(()):
        log.info("plain %s", "text")
    assert caplog.records[0].getMessage() == "plain text"
