import asyncio

import pytest
import uvloop
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

import road.service.main as main_module
from road.service.logs import logging_config
from road.service.main import uvicorn_config
from road.service.settings import ServerSettings


def test_the_server_runs_on_uvloop_and_httptools():
    settings = ServerSettings(port=8123, graceful_timeout_s=2.5)
    config = uvicorn_config(FastAPI(), settings, logging_config("info", "json"))
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert isinstance(loop, asyncio.AbstractEventLoop)
    finally:
        loop.close()
    assert (config.port, config.timeout_graceful_shutdown, config.access_log) == (8123, 3, False)


def test_main_builds_the_settings_once_and_refuses_bad_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    served: list[ServerSettings] = []
    monkeypatch.setattr(
        main_module, "serve", lambda settings, wrap_run=None: served.append(settings)
    )
    monkeypatch.setenv("ROAD_PORT", "9001")
    assert main_module.main(["--max-batch-size", "0"]) == main_module.EXIT_USAGE
    assert main_module.main(["--api-keys", "secret"]) == main_module.EXIT_USAGE
    assert served == [] and "never a flag" in capsys.readouterr().err
    assert main_module.main(["some/bundle", "--max-batch-size", "4"]) == 0
    (settings,) = served
    assert (str(settings.bundle), settings.max_batch_size, settings.port) == (
        "some/bundle",
        4,
        9001,
    )
