"""A MULTI/EXEC sent by one thread and read by another.

The worker's dequeuing thread marks each job started in one transaction (`StartingWorker.send_start`) and then
hands the job to a job thread. Waiting for the reply before the hand-over kept both the job and the next dequeue
behind the round trip; sent first and read by the job thread once it runs, the round trip overlaps the
hand-over. The connection stays out of the pool until the reply is read, so nothing else is sent on it
meanwhile.
"""

from __future__ import annotations

from typing import Any

from redis.client import Pipeline
from redis.connection import ConnectionPool
from redis.exceptions import ExecAbortError, ResponseError, WatchError


class SentTransaction:
    """One transaction whose commands are on the wire and whose replies are not read yet."""

    def __init__(self, pool: ConnectionPool, connection: Any, commands: int) -> None:
        self._pool = pool
        self._connection = connection
        self._commands = commands
        self._done = False

    def replies(self) -> list[object]:
        """Redis's reply to each command, in order, a failed one's as its `ResponseError` (as
        `Pipeline.execute(raise_on_error=False)` has them, without redis-py's conversions: `b"OK"`, not True).
        Raises what reading raises (after a connection error the transaction may or may not have been applied),
        and `WatchError`/`ExecAbortError` as redis-py does."""
        connection = self._take()
        errors: list[tuple[int, ResponseError]] = []
        try:
            try:
                connection.read_response()  # MULTI's OK
            except ResponseError as exc:
                errors.append((0, exc))
            for index in range(self._commands):
                try:
                    connection.read_response()  # QUEUED
                except ResponseError as exc:
                    errors.append((index, exc))
            try:
                response = connection.read_response()
            except ExecAbortError:
                if errors:
                    raise errors[0][1] from None
                raise
        except ResponseError:
            raise
        except BaseException:
            connection.disconnect()
            raise
        finally:
            self._pool.release(connection)
        if response is None:
            raise WatchError("Watched variable changed.")
        replies = list(response)
        for index, error in errors:
            replies.insert(index, error)
        if len(replies) != self._commands:
            raise ResponseError(f"{len(replies)} replies to a transaction of {self._commands} commands")
        return replies

    def abandon(self) -> None:
        """Drop the replies unread: the connection is closed, so its next user starts clean."""
        try:
            connection = self._take()
        except RuntimeError:
            return
        connection.disconnect()
        self._pool.release(connection)

    def _take(self) -> Any:
        # One owner at a time: the thread that sent it, then the job thread it was handed to.
        if self._done:
            raise RuntimeError("this transaction's replies were read or dropped already")
        self._done = True
        return self._connection


def send_transaction(pipeline: Pipeline) -> SentTransaction:
    """Send `pipeline`'s commands as one MULTI/EXEC on a connection of its pool, without reading the replies.

    The pipeline is left empty; a connection error while sending is raised with the connection closed and back
    in the pool (Redis drops a MULTI whose EXEC never came)."""
    commands = [args for args, _ in pipeline.command_stack]
    if pipeline.scripts:
        pipeline.load_scripts()  # type: ignore[no-untyped-call]
    pipeline.reset()
    pool = pipeline.connection_pool
    connection: Any = pool.get_connection()
    try:
        connection.send_packed_command(connection.pack_commands([("MULTI",), *commands, ("EXEC",)]))
    except BaseException:
        connection.disconnect()
        pool.release(connection)
        raise
    return SentTransaction(pool, connection, len(commands))
