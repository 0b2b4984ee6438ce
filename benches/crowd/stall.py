"""Does a member posting the heaviest accepted Markdown slow other readers?
`python3 benches/crowd/stall.py` (release binary; SQLite). The members' write limit is off unless
`STALL_WRITES_PER_MINUTE` sets it (e.g. 120, the server's default).

Measures a 20-post thread page with wrk (2 threads, 16 connections, 10 s) alone, then again while
two members post the worst accepted 50 KB shape (lists 8 deep, repeated) in a loop, and prints
both latency distributions and how many heavy posts went through meanwhile.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
binary = os.environ.get("GLOSS_BIN", os.path.join(root, "target", "release", "gloss"))
work = tempfile.mkdtemp()
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
base = f"http://127.0.0.1:{port}"
env = dict(os.environ, GLOSS_DATABASE_URL=os.path.join(work, "stall.db"), GLOSS_BIND=f"127.0.0.1:{port}",
           GLOSS_LOG="warn", GLOSS_JWT_SECRET="stall-benchmark-secret-0123456789abcdef01234",
           GLOSS_RATE_AUTH_PER_MINUTE="0",
           GLOSS_RATE_WRITES_PER_MINUTE=os.environ.get("STALL_WRITES_PER_MINUTE", "0"), GLOSS_BODY_LIMIT="1048576",
           GLOSS_ADMIN_PASSWORD="stall-admin-password")
subprocess.run([binary, "migrate"], env=env, check=True, capture_output=True)
subprocess.run([binary, "admin", "create", "--username", "ada"], env=env, check=True, capture_output=True)
server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            if requests.get(f"{base}/health/live", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)

    def call(method, path, token=None, body=None):
        h = {"Authorization": f"Bearer {token}"} if token else {}
        r = requests.request(method, f"{base}/api/v1{path}", json=body, headers=h, timeout=60)
        assert r.status_code < 300, (path, r.status_code, r.text[:200])
        return r.json() if r.content else None

    admin = call("POST", "/auth/login", body={"login": "ada", "password": "stall-admin-password"})["access_token"]
    cat = call("POST", "/forums", admin, {"kind": "category", "title": "C"})["id"]
    forum = call("POST", "/forums", admin, {"kind": "forum", "parent_id": cat, "title": "F"})["id"]
    tokens = [call("POST", "/auth/register", body={"username": f"member{i}", "password": "stall-member-password"})["access_token"]
              for i in range(3)]
    thread = call("POST", f"/forums/{forum}/threads", tokens[0], {"title": "Read me", "body": "Start."})["thread"]["id"]
    for i in range(19):
        call("POST", f"/threads/{thread}/posts", tokens[i % 3], {"body": f"Reply {i} with *some* text."})
    heavy_thread = call("POST", f"/forums/{forum}/threads", tokens[1], {"title": "Heavy", "body": "x"})["thread"]["id"]
    heavy = ("- " * 8 + "x\n\n") * (50_000 // 19)

    def wrk():
        out = subprocess.run(["wrk", "-t2", "-c16", "-d10s", "--latency", f"{base}/api/v1/threads/{thread}/posts"],
                             check=True, capture_output=True, text=True).stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
        p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
        return rate, p50, p99

    # a plain 50 KB post: as big as the heavy one, but cheap to render; tells the cost of the
    # Markdown shape apart from the cost of big writes on a machine the load generator shares
    plain = ("Plain prose, a sentence of it. " * 30 + "\n\n") * (50_000 // 932)

    def with_posters(body):
        stop = threading.Event()
        posted, refused = [0], [0]

        def poster(token):
            h = {"Authorization": f"Bearer {token}"}
            while not stop.is_set():
                r = requests.post(f"{base}/api/v1/threads/{heavy_thread}/posts", json={"body": body}, headers=h,
                                  timeout=60)
                if r.status_code == 429:
                    # the member's write limit: wait as told (but not past the end of the run)
                    refused[0] += 1
                    stop.wait(float(r.headers.get("Retry-After", "1")))
                    continue
                assert r.status_code == 201, (r.status_code, r.text[:200])
                posted[0] += 1

        workers = [threading.Thread(target=poster, args=(t,)) for t in tokens[1:]]
        for w in workers:
            w.start()
        result = wrk()
        stop.set()
        for w in workers:
            w.join()
        return result, posted[0], refused[0]

    rounds = int(os.environ.get("STALL_ROUNDS", "2"))
    for _ in range(rounds):
        # interleaved, so that a noisy machine spreads over all three alike
        rate, p50, p99 = wrk()
        print(f"thread page alone: {rate:.0f} requests/s, p50 {p50}, p99 {p99}")
        for name, body in [("50 KB of 8-deep lists", heavy), ("50 KB of plain paragraphs", plain)]:
            (rate, p50, p99), posted, refused = with_posters(body)
            print(f"  two members posting {name} in a loop ({posted} posts, {refused} refused 429, in 10 s): "
                  f"{rate:.0f} requests/s, p50 {p50}, p99 {p99}")
finally:
    server.terminate()
    server.wait()
