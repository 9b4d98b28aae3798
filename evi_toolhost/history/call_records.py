"""Our own record of each tool call (`evi:call:{tool_call_id}`, written by the intake and the worker), read
from the Redis at `REDIS_URL` when it answers; when it does not, the history is shown without them and says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import RedisError

from workers.records import read_call

CONNECT_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class CallRecords:
    by_call: dict[str, dict[str, str]] = field(default_factory=dict)
    unavailable: str | None = None
    """Why there are no records (Redis unreachable), or None when Redis answered."""

    def latency_ms(self, tool_call_id: str) -> int | None:
        """From EVI's tool call to our answer reaching the control plane, by our records."""
        record = self.by_call.get(tool_call_id, {})
        try:
            return int(record["answered_ms"]) - int(record["received_ms"])
        except (KeyError, ValueError):
            return None


def read_call_records(redis_url: str, tool_call_ids: Iterable[str]) -> CallRecords:
    wanted = list(dict.fromkeys(tool_call_ids))
    client = Redis.from_url(redis_url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=5)
    try:
        found = {call_id: read_call(client, call_id) for call_id in wanted}
    except (RedisError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        where = _without_password(redis_url)
        return CallRecords(unavailable=f"no call records: Redis at {where} did not answer ({reason})")
    finally:
        client.close()
    return CallRecords({call_id: record for call_id, record in found.items() if record})


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.split('@', 1)[1]}"
