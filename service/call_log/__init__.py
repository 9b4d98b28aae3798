"""The call log, read: every tool call's record (`evi:call:{id}`) through its index (`evi:calls`), for the
`evi-toolhost calls` command and the ops page alike. Shared by both tiers' readers; writes are the intake's
(`service.queue.enqueue`) and the worker's (`workers.call_log`)."""
