import asyncio

import uvloop
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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
