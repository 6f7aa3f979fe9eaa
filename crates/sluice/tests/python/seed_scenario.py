"""The seed scenario driven by Python `requests` with `HTTPDigestAuth`, as an Atlas user's script
would do it against Atlas: create a workspace with the solar sample, create a processor with a
tumbling window, start it, see its stats grow, stop it, start it again.

Run by crates/sluice/tests/python_client.rs, which starts the server and passes its address and
an API key in the environment. Exits non-zero, saying why, when anything differs."""

import os
import sys
import time

import requests
from requests.auth import HTTPDigestAuth

BASE = os.environ["SLUICE_URL"]
GROUP = os.environ["SLUICE_GROUP"]
AUTH = HTTPDigestAuth(os.environ["SLUICE_PUBLIC_KEY"], os.environ["SLUICE_PRIVATE_KEY"])
V2023 = {"Accept": "application/vnd.atlas.2023-02-01+json"}
V2024 = {"Accept": "application/vnd.atlas.2024-05-30+json"}
STREAMS = f"{BASE}/api/atlas/v2/groups/{GROUP}/streams"


def check(cond, what, response=None):
    if not cond:
        detail = f": {response.status_code} {response.text}" if response is not None else ""
        sys.exit(f"FAILED: {what}{detail}")


def stats(proc):
    r = requests.get(proc, auth=AUTH, headers=V2024)
    check(r.status_code == 200, "get processor", r)
    return r.json()


def wait_for(proc, what, cond, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        body = stats(proc)
        if cond(body):
            return body
        time.sleep(0.2)
    sys.exit(f"FAILED: {what} within {seconds} s; last: {body}")


# No credentials: a Digest challenge.
r = requests.get(STREAMS, headers=V2023)
check(r.status_code == 401 and "Digest" in r.headers.get("WWW-Authenticate", ""), "a digest challenge", r)

r = requests.post(
    STREAMS,
    auth=AUTH,
    headers=V2023,
    json={
        "name": "pyws",
        "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
        "sampleConnections": {"solar": True},
        "streamConfig": {"tier": "SP10"},
    },
)
check(r.status_code == 200, "create the workspace", r)
check(r.headers["Content-Type"].startswith("application/vnd.atlas.2023-02-01+json"), "the version's media type", r)
check(r.json()["connections"][0]["name"] == "sample_stream_solar", "the solar sample connection", r)

pipeline = [
    {"$source": {"connectionName": "sample_stream_solar"}},
    {
        "$tumblingWindow": {
            "interval": {"size": 1, "unit": "second"},
            "pipeline": [{"$group": {"_id": "$group_id", "avgWatts": {"$avg": "$obs.watts"}}}],
        }
    },
]
r = requests.post(f"{STREAMS}/pyws/processor", auth=AUTH, headers=V2024, json={"name": "solarAvg", "pipeline": pipeline})
check(r.status_code == 200 and r.json()["state"] == "CREATED", "create the processor", r)
proc = f"{STREAMS}/pyws/processor/solarAvg"

r = requests.post(f"{proc}:start", auth=AUTH, headers=V2024, json={})
check(r.status_code == 200, "start", r)
first = wait_for(proc, "output", lambda b: b["state"] == "STARTED" and b["stats"]["outputMessageCount"] > 0)
n = first["stats"]["inputMessageCount"]
wait_for(proc, "stats growing", lambda b: b["stats"]["inputMessageCount"] > n)

r = requests.post(f"{proc}:stop", auth=AUTH, headers=V2024, json={})
check(r.status_code == 200, "stop", r)
check(stats(proc)["state"] == "STOPPED", "stopped")

r = requests.post(f"{proc}:start", auth=AUTH, headers=V2024, json={})
check(r.status_code == 200, "start again", r)
stopped_at = stats(proc)["stats"]["inputMessageCount"]
wait_for(proc, "running again from where it stopped", lambda b: b["state"] == "STARTED" and b["stats"]["inputMessageCount"] > stopped_at)

# A wrong private key is refused.
r = requests.get(STREAMS, auth=HTTPDigestAuth(os.environ["SLUICE_PUBLIC_KEY"], "not-the-key"), headers=V2023)
check(r.status_code == 401, "a wrong key refused", r)
print("seed scenario passed")
