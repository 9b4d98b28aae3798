# One image for every process: `docker run IMAGE web|worker|relay`. Every version is pinned
# (constraints.txt), so the same build gives the same image.
# Your own tools go in an image built FROM this one: see examples/my-tools/Dockerfile.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app

# Dependencies in their own layer: rebuilt only when pyproject.toml or constraints.txt changes. The mcp and otel
# extras are in the image, so a worker takes MCP_SERVERS, `evi-toolhost mcp` runs and OTEL_* turns traces on
# without another build.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['mcp'] + p['optional-dependencies']['otel']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt -c constraints.txt

COPY README.md ./
COPY service ./service
COPY workers ./workers
COPY evi_toolhost ./evi_toolhost
RUN pip install --no-deps -c constraints.txt . && useradd --create-home --uid 10001 app

USER app
EXPOSE 8000
# Meaningful for `web`; run worker/relay containers with --no-healthcheck (or your orchestrator's own probe).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"

ENTRYPOINT ["evi-toolhost"]
CMD ["web"]
