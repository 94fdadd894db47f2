from types import SimpleNamespace

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from road.service.metrics import Metrics
from road.service.middleware import AuthMiddleware, ObserveMiddleware


async def hello(_: Request) -> PlainTextResponse:
    return PlainTextResponse("hi")


def client(keys: list[str]) -> tuple[TestClient, Metrics]:
    metrics = Metrics()
    app = Starlette(routes=[Route("/qa", hello), Route("/health/live", hello)])
    app.state.road = SimpleNamespace(metrics=metrics)  # where the error mapping counts refusals
    app.add_middleware(AuthMiddleware, keys=keys, exempt=["/health/live"])
    app.add_middleware(ObserveMiddleware, metrics=metrics, log_access=False)
    return TestClient(app), metrics


def test_bearer_keys_guard_all_but_exempt_paths():
    test, metrics = client(["k-one", "another-longer-key"])
    assert test.get("/qa", headers={"Authorization": "Bearer k-one"}).text == "hi"
    assert test.get("/qa", headers={"Authorization": "Bearer another-longer-key"}).text == "hi"
    assert test.get("/health/live").text == "hi"
    for header in ({}, {"Authorization": "Bearer k-on"}, {"Authorization": "Token k-one"}):
        denied = test.get("/qa", headers=header)
        assert denied.status_code == 401
        assert denied.headers["content-type"] == "application/problem+json"
        assert denied.headers["www-authenticate"] == "Bearer"
        assert denied.headers["x-request-id"]
    assert metrics.rejections.labels("unauthorized")._value.get() == 3


def test_request_ids_are_kept_when_sane_and_replaced_otherwise():
    test, metrics = client(["k"])
    headers = {"Authorization": "Bearer k"}
    kept = test.get("/qa", headers={**headers, "X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = test.get("/qa", headers={**headers, "X-Request-ID": "x" * 200})
    assert len(replaced.headers["x-request-id"]) == 32
    assert metrics.requests.labels("/qa", "200")._value.get() == 2
