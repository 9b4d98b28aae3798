"""Chat ownership: one relay per chat through a lease (SET NX PX) that only its owner renews or drops."""

from __future__ import annotations

from redis.asyncio import Redis

from service.queue import contract
from service.redis_client import text

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class Leases:
    def __init__(self, redis: Redis, relay_id: str, lease_ms: int) -> None:
        self.redis = redis
        self.relay_id = relay_id
        self.lease_ms = lease_ms
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self, chat_id: str) -> bool:
        return bool(await self.redis.set(contract.lease(chat_id), self.relay_id, nx=True, px=self.lease_ms))

    async def renew(self, chat_id: str) -> bool:
        return bool(await self._renew(keys=[contract.lease(chat_id)], args=[self.relay_id, self.lease_ms]))

    async def release(self, chat_id: str) -> None:
        await self._release(keys=[contract.lease(chat_id)], args=[self.relay_id])

    async def owner(self, chat_id: str) -> str | None:
        return text(await self.redis.get(contract.lease(chat_id)))
