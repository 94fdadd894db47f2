"""`helm test` pod: GET /health/ready, then one POST /qa, against the release's Service.

Environment: ROAD_URL (base URL), ROAD_TEST_QUESTION, ROAD_TEST_CONTEXT,
ROAD_TEST_READY_TIMEOUT_S (default 60) and, when the release requires API keys,
ROAD_API_KEYS_FILE (the first key in the file is sent as a bearer token and as X-API-Key).
Exits non-zero, with the reason, on any failure. Standard library only.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

base = os.environ["ROAD_URL"].rstrip("/")
headers = {"Content-Type": "application/json"}
keys_file = os.environ.get("ROAD_API_KEYS_FILE")
if keys_file:
    with open(keys_file, encoding="utf-8") as handle:
        keys = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    if not keys:
        sys.exit(f"smoke-test: no API key in {keys_file}")
    headers["Authorization"] = f"Bearer {keys[0]}"
    headers["X-API-Key"] = keys[0]


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


deadline = time.monotonic() + float(os.environ.get("ROAD_TEST_READY_TIMEOUT_S", "60"))
while True:
    try:
        status, _ = call("GET", "/health/ready")
        if status == 200:
            break
    except (urllib.error.URLError, OSError) as exc:
        status = exc
    if time.monotonic() > deadline:
        sys.exit(f"smoke-test: /health/ready not ready: {status}")
    time.sleep(2)
print("smoke-test: /health/ready OK", flush=True)

question = os.environ["ROAD_TEST_QUESTION"]
context = os.environ["ROAD_TEST_CONTEXT"]
try:
    status, raw = call("POST", "/qa", {"question": question, "context": context})
except urllib.error.HTTPError as exc:
    sys.exit(f"smoke-test: POST /qa answered {exc.code}: {exc.read()[:500]!r}")
except (urllib.error.URLError, OSError) as exc:
    sys.exit(f"smoke-test: POST /qa failed: {exc}")
answer = json.loads(raw)
missing = {"answer", "start", "end", "score"} - set(answer)
if status != 200 or missing:
    sys.exit(f"smoke-test: POST /qa answered {status} without {sorted(missing)}: {answer}")
if answer["answer"] and context[answer["start"]:answer["end"]] != answer["answer"]:
    sys.exit(f"smoke-test: answer span does not match the context: {answer}")
print(f"smoke-test: POST /qa OK: {answer}", flush=True)
