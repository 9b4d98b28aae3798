"""The worker's part of the call log: the run claim that notes who runs a call, the answer's fields, and a
redacted argument kept out of the record, the logs and RQ's job payload."""

from __future__ import annotations

import json
import logging
import os
import socket

import fakeredis
import pytest
from rq.job import Job
from rq.serializers import JSONSerializer

from service.evi.messages import ToolCallMessage, ToolErrorMessage, ToolResponseMessage, ToolType
from service.queue import contract
from workers.call_log import CONTENT_LIMIT, answer_fields, claim_and_record, content_digest, sensitive_call, started
from workers.handlers.registry import Registry
from workers.testing import ToolKit


def test_the_claim_notes_who_runs_the_call_only_when_it_is_taken(fake_redis: fakeredis.FakeRedis) -> None:
    claim, record = contract.run_claim("toolu_1"), contract.call_record("toolu_1")
    taken = claim_and_record(fake_redis, claim, "ours", "toolu_1", {"worker": "w1"}, claim_ttl=60, record_ttl=600)
    assert taken and fake_redis.hget(record, "worker") == b"w1" and 590 < fake_redis.ttl(record) <= 600
    assert not claim_and_record(fake_redis, claim, "theirs", "toolu_1", {"worker": "w2"}, claim_ttl=60, record_ttl=600)
    assert fake_redis.hget(record, "worker") == b"w1"
    # A claim taken just as Redis went away is still ours when asked again with the same token.
    assert claim_and_record(fake_redis, claim, "ours", "toolu_1", {"worker": "w1"}, claim_ttl=60, record_ttl=600)


def call(name: str, parameters: str) -> ToolCallMessage:
    return ToolCallMessage(
        name=name, parameters=parameters, tool_call_id="toolu_2", response_required=True, tool_type=ToolType.FUNCTION
    )


def paying_registry() -> Registry:
    registry = Registry()

    @registry.tool(redact=["card_number"])
    def pay(card_number: str, amount: int) -> str:
        return f"charged {card_number}"

    return registry


def test_started_gives_the_redacted_arguments_and_this_process_outside_rq() -> None:
    fields = started(paying_registry(), call("pay", '{"card_number": "4111222233334444", "amount": 3}'))
    assert json.loads(str(fields["arguments"])) == {"card_number": "[redacted]", "amount": 3}
    assert (fields["redacted"], fields["worker"]) == ("card_number", f"{socket.gethostname()}/{os.getpid()}")
    assert fields["job_started_ms"] == fields["started_ms"]  # outside RQ, the job is this very run


def test_answer_fields_cap_the_content_keep_its_digest_and_scrub_redacted_values() -> None:
    registry = paying_registry()
    paying = call("pay", '{"card_number": "4111222233334444", "amount": 3}')
    response = ToolResponseMessage(content="charged 4111222233334444", tool_call_id="toolu_2")
    assert answer_fields(registry, paying, response) == {"content": "charged ***"}
    long = "x" * (CONTENT_LIMIT + 5)
    fields = answer_fields(registry, call("other", "{}"), ToolResponseMessage(content=long, tool_call_id="toolu_2"))
    digest = content_digest(long)
    assert fields == {"content": long[:CONTENT_LIMIT], "content_chars": len(long), "content_sha256": digest}
    error = ToolErrorMessage(content="Sorry.", error="pay raised ValueError", code="tool_failed", tool_call_id="t")
    assert answer_fields(registry, paying, error) == {"content": "Sorry.", "answer_error": "pay raised ValueError"}


def job_for(event: dict[str, object]) -> Job:
    return Job.create(
        "workers.jobs.run_tool_call", args=(event,), connection=fakeredis.FakeRedis(), serializer=JSONSerializer
    )


def test_a_redacted_argument_leaves_the_job_payload_and_is_hidden_from_the_logs_meanwhile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    parameters = '{"card_number": "4111222233334444", "amount": 3}'
    event = {"event_name": "tool_call", "tool_call_message": {"name": "pay", "parameters": parameters}}
    job = job_for(event)
    caplog.set_level(logging.INFO)
    with pytest.raises(RuntimeError), sensitive_call(paying_registry(), event, job):
        logging.getLogger("tests.call_log").info("got %s", parameters)
        raise RuntimeError("the job failed: its payload is taken care of all the same")
    assert caplog.records[0].getMessage() == 'got {"card_number": "***", "amount": 3}'
    (kept,) = job.args
    assert json.loads(kept["tool_call_message"]["parameters"]) == {"card_number": "[redacted]", "amount": 3}
    assert b"4111222233334444" not in job.data
    assert event["tool_call_message"]["parameters"] == parameters, "the event itself is left as it was"

    plain = {"event_name": "tool_call", "tool_call_message": {"name": "other", "parameters": parameters}}
    untouched = job_for(plain)
    with sensitive_call(paying_registry(), plain, untouched):
        pass
    assert untouched.args == (plain,)


def test_the_test_kit_s_record_holds_the_call_log_fields() -> None:
    registry = paying_registry()

    @registry.tool
    def echo(text: str) -> str:
        return text

    with ToolKit(registry) as kit:
        result = kit.call_sync("echo", text="hello")
        record = result.record
        assert (record["arguments"], record["content"]) == ('{"text": "hello"}', "hello")
        assert record["delivery_attempts"] == "1"
        assert record["worker"] == f"{socket.gethostname()}/{os.getpid()}"
        builtin = kit.call_with("web_search", {"query": "x"}, response_required=False)
        assert kit.redis.zscore(contract.CALL_LOG, builtin.tool_call_id) is not None
