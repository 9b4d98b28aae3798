"""The ops page (`/ops`) and its JSON API (`/ops/api/...`) on the web process: calls in flight, the newest calls,
per-tool latency and errors, chats, workers and queues. Off unless `OPS_TOKEN` is set.

Web tier: it reads Redis and RQ's registries directly and never imports the worker tier."""
