"""RQ's bookkeeping for a job that returned, in one round trip for the jobs the web tier queues.

RQ 3 ends every successful job in four round trips after it returns: a heartbeat (`handle_execution_ended`, to keep
the job alive while a success callback runs), then `WATCH` on the job's dependents set, `SMEMBERS` of it, and the
MULTI/EXEC that records the result. The watch is there for a job another job was queued to depend on. The web tier
builds its jobs itself (`service.queue.job_hash`): none has a callback, a repeat, a rate limit or a dependent, and
nothing can depend on one, since a dependent must be queued through RQ with the job's id, which is never handed out.
For those jobs the same writes, in the same transaction, go out in one round trip. Any other job takes RQ's path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rq.executions import Execution
from rq.job import Job, JobStatus

from service.queue import contract

if TYPE_CHECKING:
    from rq.worker import BaseWorker

OWN_FUNCTIONS = frozenset(contract.JOB_FUNCTIONS.values())


def is_plain_own_job(job: Job) -> bool:
    """A job the web tier queued: no callbacks, repeats or rate limit, and no job can depend on it."""
    return (
        job.func_name in OWN_FUNCTIONS
        and not job.has_rate_limit
        and job._success_callback_name is None
        and job._failure_callback_name is None
        and job._stopped_callback_name is None
        and job.repeats_left is None
        and not job.webhooks
    )


def record_success(worker: BaseWorker, job: Job, execution: Execution) -> None:
    """What RQ's `handle_job_success` writes for a job without dependents, as one MULTI/EXEC."""
    assert job.started_at is not None and job.ended_at is not None
    result_ttl = job.get_result_ttl(worker.default_result_ttl)
    with worker.connection.pipeline() as pipeline:
        worker.increment_successful_job_count(pipeline=pipeline)
        worker.increment_total_working_time(job.ended_at - job.started_at, pipeline)
        if result_ttl != 0:
            job._handle_success(
                result_ttl,
                pipeline=pipeline,
                worker_name=worker.name,
                execution_id=execution.id,
                execution_started_at=execution.created_at,
                execution_ended_at=job.ended_at,
            )
        job.cleanup(result_ttl, pipeline=pipeline, remove_from_queue=False)
        job._status = JobStatus.FINISHED
        worker.cleanup_execution(job, pipeline=pipeline, execution=execution)
        pipeline.execute()
