"""The queue between the tiers: its contract (queue names, job paths, Redis keys) and how an event is queued."""
