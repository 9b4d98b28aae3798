# One image for every process: `docker run IMAGE web|worker|relay`.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app

# Dependencies in their own layer: rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY README.md ./
COPY service ./service
COPY workers ./workers
COPY examples ./examples
RUN pip install --no-deps . && useradd --create-home --uid 10001 app

USER app
EXPOSE 8000
# Meaningful for `web`; run worker/relay containers with --no-healthcheck (or your orchestrator's own probe).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"

ENTRYPOINT ["evi-toolhost"]
CMD ["web"]
