"""Seeds a live Gloss server for Schemathesis and writes the two members' credentials.

An admin (made beforehand with `gloss admin create`) opens a category and a forum; two members,
alice and bob, each start a thread, reply, annotate and react, so that every kind of object exists
and belongs to one of them. The Web Fuzzing Commons auth file names both as peers: Schemathesis
then checks that neither reaches the other's objects.
"""

import json
import sys

import requests

base, admin_password, out = sys.argv[1], sys.argv[2], sys.argv[3]
API = f"{base}/api/v1"
PASSWORD = "schemathesis-member-password"


def call(method, path, token=None, body=None, expect=(200, 201, 204)):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.request(method, f"{API}{path}", json=body, headers=headers, timeout=30)
    if r.status_code not in expect:
        sys.exit(f"setup: {method} {path} answered {r.status_code}: {r.text}")
    return r.json() if r.content else None


admin = call("POST", "/auth/login", body={"login": "ada", "password": admin_password})["access_token"]
category = call("POST", "/forums", admin, {"kind": "category", "title": "Defense & Geopolitics"})["id"]
forum = call("POST", "/forums", admin, {"kind": "forum", "parent_id": category, "title": "Chinese Defense"})["id"]
call("POST", f"/forums/{forum}/fields", admin,
     {"key": "date_of_event", "label": "Date of Event", "field_type": "date"})

tokens = {}
for name in ("alice", "bob"):
    tokens[name] = call("POST", "/auth/register",
                        body={"username": name, "password": PASSWORD, "email": f"{name}@example.org"})["access_token"]
for name, other in (("alice", "bob"), ("bob", "alice")):
    t = tokens[name]
    created = call("POST", f"/forums/{forum}/threads", t,
                   {"title": f"{name}'s thread", "body": f"The first post by {name}, about mutual support."})
    thread, first = created["thread"]["id"], created["first_post"]["id"]
    reply = call("POST", f"/threads/{thread}/posts", t, {"body": f"A reply by {name}."})["id"]
    call("POST", f"/posts/{first}/annotations", t,
         {"motivation": "commenting", "body": "Private note.", "visibility": "private",
          "selector": {"exact": "mutual support"}})
    call("POST", f"/posts/{first}/annotations", t,
         {"motivation": "highlighting", "selector": {"exact": "first post"}})
    call("POST", f"/threads/{thread}/read", t, {"position": 2})

wfc = {"auth": [
    {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
    for name, token in tokens.items()
]}
with open(out, "w") as f:
    json.dump(wfc, f)
print("setup: forum", forum, "members alice and bob")
