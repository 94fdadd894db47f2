# syntax=docker/dockerfile:1
#
# CPU serving image for road: `road serve` on ONNX Runtime (CPU), no torch.
#
#   docker build -t road:0.1.0 .
#   docker run --rm -p 8000:8000 road:0.1.0            # serves the default bundle
#   docker run --rm -p 8000:8000 -v /srv/bundle:/bundle:ro -e ROAD_BUNDLE=/bundle road:0.1.0
#
# Stage 1 builds a virtual environment with `pip install .` (the base install: onnxruntime,
# tokenizers, FastAPI; the `train` and `export` extras with torch are never installed). Stage 2
# copies only that environment onto a fresh slim base and runs it as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY road ./road
COPY core ./core
COPY runtime ./runtime
COPY service ./service
COPY training ./training
COPY export ./export
COPY score ./score

# The base install plus the `score` extra (pyarrow, for `road score` on Parquet in the batch Job).
# road/default_bundle/ is package data, so the default bundle comes along. The import check fails the build if torch slipped in or the bundle is missing.
RUN pip install --no-cache-dir "/src[score]" \
    && python -c "import importlib.util as u, pathlib, sys, road; sys.exit('torch must not be in the serving image' if u.find_spec('torch') else 0 if (pathlib.Path(road.__file__).parent / 'default_bundle').is_dir() else 'road/default_bundle is missing from the installed package')"


FROM ${PYTHON_IMAGE} AS runtime

ARG ROAD_UID=10001
ARG ROAD_GID=10001

LABEL org.opencontainers.image.title="road" \
      org.opencontainers.image.description="Extractive QA and NLI server on ONNX Runtime (CPU)" \
      org.opencontainers.image.version="0.1.0"

RUN groupadd --system --gid "${ROAD_GID}" road \
    && useradd --system --uid "${ROAD_UID}" --gid road --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin road

COPY --from=builder /opt/venv /opt/venv
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

# A stable path to the packaged default bundle, for `road score --bundle /opt/road/bundle`.
RUN mkdir -p /opt/road \
    && ln -s /opt/venv/lib/python3.*/site-packages/road/default_bundle /opt/road/bundle \
    && test -d /opt/road/bundle/

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    ROAD_HOST=0.0.0.0 \
    ROAD_PORT=8000 \
    ROAD_BUNDLE=/opt/road/bundle

WORKDIR /tmp
USER ${ROAD_UID}:${ROAD_GID}
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('ROAD_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD []
