"""`REDIS_URL=rediss://...` (Redis over TLS, as managed Redis services offer it) in every process: web, worker,
relay, RQ's own command line and `evi-toolhost calls`, against a redis-server that listens on TLS only, with a
certificate from a throwaway CA made here. Skipped where openssl is missing or redis-server was built without TLS.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from evi_toolhost.embedded_redis import find_redis_server, free_port
from service.queue import contract
from tests.support.servers import wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path) -> None:
    """A CA, and a certificate it signed for 127.0.0.1."""
    key = ["-newkey", "rsa:2048", "-nodes"]
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=CA", cwd=folder)
    openssl("req", *key, "-keyout", "redis.key", "-out", "redis.csr", "-subj", "/CN=127.0.0.1", cwd=folder)
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    signing = ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "san.cnf"]
    openssl("x509", "-req", "-in", "redis.csr", *signing, "-out", "redis.crt", cwd=folder)


@pytest.fixture
def tls_redis_url(tmp_path: Path) -> Iterator[str]:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a test CA: rediss:// is not tested here")
    make_certificates(tmp_path)
    port = free_port()
    tls = ["--tls-port", str(port), "--tls-cert-file", "redis.crt", "--tls-key-file", "redis.key"]
    tls += ["--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no"]
    server = subprocess.Popen(
        [find_redis_server(), "--port", "0", *tls, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={quote(str(tmp_path / 'ca.crt'))}"
    try:
        client = Redis.from_url(url, socket_connect_timeout=0.5)

        def answers() -> bool:
            if server.poll() is not None:
                output = server.stdout.read().decode(errors="replace") if server.stdout else ""
                pytest.skip(f"this redis-server does not serve TLS ({output.strip().splitlines()[-1:]})")
            try:
                return bool(client.ping())
            except RedisConnectionError:
                return False

        wait_for(answers, timeout=10, interval=0.05)
        client.close()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_process_works_on_a_redis_over_tls(tls_redis_url: str) -> None:
    plain = Redis.from_url(tls_redis_url.replace("rediss://", "redis://").split("?")[0], socket_timeout=1)
    with pytest.raises(RedisConnectionError):
        plain.ping()  # it speaks TLS only: the processes below cannot have used a plain connection
    stack = Stack(tls_redis_url, "tests.integration.tools").start()
    try:
        stack.start_worker(1)
        stack.start_relay()
        chat_id = stack.chat(allow_connection=True, announce=True)
        wait_for(lambda: stack.redis.hget(contract.socket_state(chat_id), "state") == b"open", timeout=10)
        call_id, _ = stack.call("quick", {}, chat_id)
        answer = stack.only_answer(call_id)
        assert (answer.message["content"], answer.transport) == ("quick", "socket")

        listed = stack.cli("calls", "--json", "--limit", "1")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["tool_call_id"] == call_id
        rq = Path(sys.executable).parent / "rq"
        command = [str(rq), "info", "--url", tls_redis_url, contract.TOOLS_QUEUE]
        info = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert info.returncode == 0 and "1 workers" in info.stdout, info.stdout + info.stderr
    finally:
        stack.close()
