"""Replies under a crowd: `python3 benches/crowd/run.py sqlite|postgres [seconds]`.

Starts the release `gloss` on a fresh database (limits off), makes a forum, 8 members and a thread
they all watch (so every reply notifies the other watchers and writes stream events: the path that
deadlocked before), then measures replies with wrk: 1 in flight (the single-writer rate), then 16 in
flight from the 8 members. Prints requests/s, p50/p99 and the status counts (no 5xx expected),
then checks the thread's reply count against the acknowledged replies.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import requests

backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
seconds = sys.argv[2] if len(sys.argv) > 2 else "10"
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
binary = os.environ.get("GLOSS_BIN", os.path.join(root, "target", "release", "gloss"))

work = tempfile.mkdtemp()
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
base = f"http://127.0.0.1:{port}"
if backend == "postgres":
    admin_url = os.environ.get("GLOSS_TEST_POSTGRES_URL", "postgres://gloss_test@127.0.0.1:5432/gloss_test")
    db = f"gloss_crowd_{os.getpid()}"
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {db}"], check=True)
    url = admin_url.rsplit("/", 1)[0] + "/" + db
else:
    url = os.path.join(work, "crowd.db")
env = dict(os.environ, GLOSS_DATABASE_URL=url, GLOSS_BIND=f"127.0.0.1:{port}", GLOSS_LOG="warn",
           GLOSS_JWT_SECRET="crowd-benchmark-secret-0123456789abcdef0123", GLOSS_RATE_AUTH_PER_MINUTE="0",
           GLOSS_RATE_FAILED_LOGINS="0", GLOSS_RATE_WRITES_PER_MINUTE="0", GLOSS_DB_POOL_SIZE="16",
           GLOSS_ADMIN_PASSWORD="crowd-admin-password")
subprocess.run([binary, "migrate"], env=env, check=True, capture_output=True)
subprocess.run([binary, "admin", "create", "--username", "ada"], env=env, check=True, capture_output=True)
log = open(os.path.join(work, "server.log"), "w")
server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log)
try:
    for _ in range(100):
        try:
            if requests.get(f"{base}/health/live", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)

    def call(method, path, token=None, body=None):
        h = {"Authorization": f"Bearer {token}"} if token else {}
        r = requests.request(method, f"{base}/api/v1{path}", json=body, headers=h, timeout=30)
        assert r.status_code < 300, (path, r.status_code, r.text)
        return r.json() if r.content else None

    admin = call("POST", "/auth/login", body={"login": "ada", "password": "crowd-admin-password"})["access_token"]
    cat = call("POST", "/forums", admin, {"kind": "category", "title": "C"})["id"]
    forum = call("POST", "/forums", admin, {"kind": "forum", "parent_id": cat, "title": "F"})["id"]
    tokens = [call("POST", "/auth/register", body={"username": f"member{i}", "password": "crowd-member-password"})["access_token"]
              for i in range(8)]
    thread = call("POST", f"/forums/{forum}/threads", tokens[0], {"title": "Crowd", "body": "Start."})["thread"]["id"]
    for t in tokens[1:]:
        call("PUT", f"/threads/{thread}/watch", t)

    acknowledged = 0
    for label, conns, threads in (("1 in flight", 1, 1), ("16 in flight, 8 members", 16, 2)):
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "-s", os.path.join(here, "reply.lua"), base],
            env=dict(os.environ, GLOSS_TOKENS=",".join(tokens), GLOSS_THREAD=str(thread)),
            check=True, capture_output=True, text=True).stdout
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
        statuses = re.search(r"statuses: (.*)", out).group(1)
        pct = re.search(r"p50_ms: ([\d.]+) p99_ms: ([\d.]+)", out)
        acknowledged += sum(int(c) for s, c in (p.split("=") for p in statuses.split()) if s == "201")
        print(f"{backend}: {label}: {float(rate):.0f} replies/s, p50 {pct.group(1)} ms, p99 {pct.group(2)} ms, statuses {statuses}")
    count = call("GET", f"/threads/{thread}")["reply_count"]
    # wrk stops with requests in flight: the server finishes them but wrk never reads their answer,
    # so the thread may hold up to 1 + 16 replies more than were acknowledged, never fewer
    print(f"{backend}: acknowledged {acknowledged} replies; the thread counts {count}")
    assert acknowledged <= count <= acknowledged + 17, "a reply was lost or counted twice"
finally:
    server.terminate()
    server.wait()
    if backend == "postgres":
        subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
