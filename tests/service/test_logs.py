import json
import logging
import logging.config

import pytest

from road.service.logs import logging_config, request_id_var


@pytest.fixture
def restore_logging():
    yield
    for name in ("road", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def test_json_lines_carry_the_request_id_and_extra_fields(capsys, restore_logging):
    logging.config.dictConfig(logging_config("info", "json"))
    token = request_id_var.set("req-7")
    try:
        logging.getLogger("road.access").info("POST /qa 200", extra={"status": 200})
    finally:
        request_id_var.reset(token)
    logging.getLogger("road.service").info("no request here", extra={"color_message": "x"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["request_id"] == "req-7" and lines[0]["status"] == 200
    assert lines[0]["message"] == "POST /qa 200" and lines[0]["level"] == "INFO"
    assert lines[1]["request_id"] is None and "color_message" not in lines[1]


def test_text_format_is_available(capsys, restore_logging):
    logging.config.dictConfig(logging_config("warning", "text"))
    logging.getLogger("road.x").warning("plain")
    logging.getLogger("road.x").info("hidden")
    err = capsys.readouterr().err
    assert "WARNING road.x [None]: plain" in err and "hidden" not in err
