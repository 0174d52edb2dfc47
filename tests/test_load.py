"""The real server under a bounded load from other threads: every request is served or
refused with 503, nothing crashes, memory stays bounded."""
import os
import subprocess
import sys
import time

import httpx
import pytest
from helpers import ROOT, free_port, stop_server, wait_until_healthy

from assistant.tools.loadtest import run
from assistant.tools.measure import rss_mb


@pytest.mark.slow
def test_server_under_load_serves_or_sheds_and_stays_up(demo_copy, tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "serve.log"
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--index",
                               str(demo_copy), "--port", str(port)], env=env,
                              stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(server, url, 240, log)
        result = run(url, clients=8, seconds=8, pid=server.pid)
        assert result["errors"] == 0 and result["other"] == {}, result
        assert result["ok"] > 0 and result["ok"] + result["busy_503"] == result["requests"]
        # The cross-encoder's onnxruntime arena grows with the first batches it reads.
        assert result["rss_mb_after"] < result["rss_mb_before"] + 600
        assert server.poll() is None
        assert httpx.get(f"{url}/api/health", timeout=5).status_code == 200
    finally:
        stop_server(server, 30)


def test_refuses_hosts_other_than_this_machine():
    with pytest.raises(SystemExit, match="only servers on this machine"):
        run("http://10.0.0.1:7860", clients=1, seconds=1)
    assert rss_mb(os.getpid()) > 0


def test_past_the_in_flight_limit_requests_get_503_with_retry_after(small_index_dir):
    import threading

    import uvicorn

    from assistant import Assistant
    from assistant.serving.access import Access
    from assistant.serving.api import create_app

    # every request is one too many
    app = create_app(Assistant(small_index_dir), Access(None), max_in_flight=0)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.05)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        busy = httpx.get(f"{url}/api/ask", params={"q": "chess"}, timeout=10)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert "busy" in busy.json()["error"]
        assert httpx.get(f"{url}/api/health", timeout=10).status_code == 200  # never shed
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.slow
def test_compare_runs_each_variant_in_one_run_and_prints_ratios(demo_copy):
    """`loadtest --index`: the first stage alone, shipped and with the cross-encoder, each a
    fresh server loaded in turn, with ratios to the first stage from the same run."""
    from assistant.tools.loadtest import VARIANTS, compare

    out = compare(str(demo_copy), clients=2, seconds=1,
                  questions=[{"q": "Who won the chess championship?"}])
    for variant in VARIANTS:
        assert out[variant]["ok"] > 0 and out[variant]["errors"] == 0, out
    for variant in ("shipped", "with cross-encoder"):
        ratio = out[f"{variant} / first stage"]["requests_per_s"]
        first = out["first stage"]["requests_per_s"]
        assert abs(ratio - out[variant]["requests_per_s"] / first) < 0.01
