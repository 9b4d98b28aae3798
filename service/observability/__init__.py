"""What every process uses to be seen from outside: Prometheus exposition, OpenTelemetry tracing, the fields of
structured log lines. Shared by both tiers; the metrics themselves live with the code they count
(`service.metrics` for the web process, `workers.metrics` for workers and relays)."""
