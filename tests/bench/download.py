"""Benchmark: download throughput against curl, and sha256 verification speed.

    .venv/bin/python -m tests.bench.download [--size-mb 512] [--runs 3]

Both clients fetch the same file from the same loopback fake hub, so the server's
own cost is common to both and the ratio shows what the app's download path
(huggingface_hub's HTTP client, the resumable partial file) costs against curl.
The issue's bar: ratio >= 0.9. Verification speed is sha256 over the downloaded file
(first run reads from disk, later runs from the page cache, as after a download).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = "bench/bench-GGUF"
FILE = "bench.Q4_K_M.gguf"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=512)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("curl") is None:
        print("curl is not installed", file=sys.stderr)
        return 1

    os.environ.pop("HF_HUB_OFFLINE", None)
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(proxy, None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    work = Path(tempfile.mkdtemp(prefix="dscoder-bench-"))
    os.environ["DSCODER_HOME"] = str(work / "home")

    from huggingface_hub import constants, hf_hub_download

    constants.HF_HUB_OFFLINE = False
    from app.config.settings import Settings
    from app.models.download.hub import HubConfig
    from app.models.download.transfer import FileSource, RetryPolicy, fetch_resumable
    from app.models.verify import sha256_file
    from app.utils.jobs import JobControl
    from tests.helpers.fake_hub import FakeHub

    size = args.size_mb * 1024 * 1024
    source = work / "source.bin"
    with source.open("wb") as handle:
        for _ in range(args.size_mb):
            handle.write(os.urandom(1024 * 1024))

    try:
        with FakeHub(send_block=1024 * 1024) as hub:
            hub.add_file(REPO, FILE, source)
            os.environ["HF_ENDPOINT"] = hub.url
            config = HubConfig.from_settings(Settings())
            url = f"{hub.url}/{REPO}/resolve/main/{FILE}"
            curl_times: list[float] = []
            app_times: list[float] = []
            library_times: list[float] = []
            for run in range(args.runs):
                target = work / f"curl-{run}.bin"
                began = time.perf_counter()
                subprocess.run(["curl", "-sS", "--fail", "--noproxy", "*", "-o", str(target), url], check=True)
                curl_times.append(time.perf_counter() - began)
                assert target.stat().st_size == size
                target.unlink()

                partial = work / f"app-{run}.incomplete"
                began = time.perf_counter()
                fetch_resumable(
                    config,
                    FileSource(REPO, "main", FILE),
                    partial,
                    expected_size=size,
                    control=JobControl(),
                    on_position=lambda position: None,
                    policy=RetryPolicy(),
                )
                app_times.append(time.perf_counter() - began)
                assert partial.stat().st_size == size
                if run < args.runs - 1:
                    partial.unlink()

                # huggingface_hub's own hf_hub_download, for reference (no resume after a kill).
                local = work / f"hf-{run}"
                began = time.perf_counter()
                hf_hub_download(REPO, FILE, local_dir=local, endpoint=hub.url)
                library_times.append(time.perf_counter() - began)
                shutil.rmtree(local)

            verify_times: list[float] = []
            for _ in range(args.runs):
                began = time.perf_counter()
                sha256_file(partial)
                verify_times.append(time.perf_counter() - began)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    mb = size / 1e6
    curl_speed = mb / statistics.median(curl_times)
    app_speed = mb / statistics.median(app_times)
    print(f"file: {args.size_mb} MiB from the loopback fake hub, median of {args.runs} runs")
    print(f"curl:                 {curl_speed:8.1f} MB/s")
    print(f"dscoder (hf client):  {app_speed:8.1f} MB/s")
    print(f"hf_hub_download:      {mb / statistics.median(library_times):8.1f} MB/s  (reference)")
    print(f"ratio dscoder/curl:   {app_speed / curl_speed:8.2f}  (target >= 0.9)")
    print(
        f"sha256 verification:  {mb / statistics.median(verify_times):8.1f} MB/s "
        f"(best {mb / min(verify_times):.1f} MB/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
