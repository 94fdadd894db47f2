"""Init container: download a road bundle archive, verify its sha256, extract it.

Environment: BUNDLE_URL (http/https URL of a .tar.gz), BUNDLE_SHA256 (64 hex digits),
BUNDLE_DEST (directory to extract into, an emptyDir), BUNDLE_TIMEOUT_S (network timeout).
Nothing is extracted unless the digest matches; tar members that would escape BUNDLE_DEST
(absolute paths, .., links outside, devices) are refused by tarfile's "data" filter.
Runs on the Python of the road image: standard library only.
"""

import hashlib
import os
import pathlib
import sys
import tarfile
import urllib.request

url = os.environ["BUNDLE_URL"]
expected = os.environ["BUNDLE_SHA256"].strip().lower()
dest = pathlib.Path(os.environ["BUNDLE_DEST"])
timeout = float(os.environ.get("BUNDLE_TIMEOUT_S", "300"))

if not url.startswith(("http://", "https://")):
    sys.exit(f"fetch-bundle: BUNDLE_URL must be http(s), got {url!r}")
if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
    sys.exit("fetch-bundle: BUNDLE_SHA256 must be 64 hex digits")

dest.mkdir(parents=True, exist_ok=True)
archive = dest / ".bundle.tar.gz.part"
digest = hashlib.sha256()
size = 0
print(f"fetch-bundle: downloading {url}", flush=True)
with urllib.request.urlopen(url, timeout=timeout) as response, archive.open("wb") as out:
    while chunk := response.read(1 << 20):
        digest.update(chunk)
        out.write(chunk)
        size += len(chunk)

actual = digest.hexdigest()
if actual != expected:
    archive.unlink()
    sys.exit(f"fetch-bundle: sha256 mismatch for {url}: expected {expected}, got {actual}")

with tarfile.open(archive, "r:gz") as tar:
    tar.extractall(dest, filter="data")
archive.unlink()
print(f"fetch-bundle: {size} bytes verified (sha256 {actual}), extracted into {dest}", flush=True)
