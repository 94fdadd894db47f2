"""A third task with no code changes: only YAML and a data file (docs/tasks.md).

A 4-label single-text classification task trains beside QA and NLI on a tiny random student,
exports to one graph with three heads (parity and quality gate passed), is served by the real
server, shares one session run with /qa and /nli requests, and is scored by `road score`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from road.cli import app
from road.core.bundle import load_manifest

from .server import server_process

LABELS = ["greeting", "weather", "music", "farewell"]
TEXTS = {
    "greeting": ["hello there", "good morning to you", "hi, how are you", "hey friend"],
    "weather": ["will it rain today", "how cold is it outside", "is it sunny", "any snow soon"],
    "music": ["play some jazz", "put on my playlist", "skip this song", "turn the music up"],
    "farewell": ["goodbye for now", "see you later", "bye bye", "talk to you tomorrow"],
}
CONFIG = """\
output_dir: {out}
init: {init}
steps: 6
save_every: 6
lr: 1.0e-3
threads: 1
tasks:
  - name: qa
    train: {squad}
    dev: {squad}
    max_seq_len: 48
    doc_stride: 16
    max_question_tokens: 16
    batch_size: 4
  - name: nli
    train: {nli}
    dev: {nli}
    max_seq_len: 48
    batch_size: 4
  - name: intent
    kind: classification
    labels: [greeting, weather, music, farewell]
    fields: [text]
    train: {intent}
    dev: {intent}
    max_seq_len: 24
    batch_size: 4
"""


@pytest.fixture(scope="module")
def intent_bundle(
    tiny_data: dict[str, Path], tiny_init: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Train and export with the CLI; the test's own files are one YAML and one data file."""
    root = tmp_path_factory.mktemp("third-task")
    data = root / "intent.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"i{k}-{label}", "text": text, "label": label}) + "\n"
            for label in LABELS
            for k, text in enumerate(TEXTS[label])
        )
    )
    config = root / "train.yaml"
    config.write_text(
        CONFIG.format(
            out=root / "run", init=tiny_init, squad=tiny_data["squad"], nli=tiny_data["nli"],
            intent=data,
        )
    )  # fmt: skip
    runner = CliRunner()
    trained = runner.invoke(app, ["train", str(config)])
    assert trained.exit_code == 0, trained.output
    bundle = root / "bundle"
    exported = runner.invoke(
        app, ["export", str(root / "run" / "final"), "--out", str(bundle), "--precision", "fp32"]
    )
    assert exported.exit_code == 0, exported.output
    written = sorted(p.name for p in root.iterdir() if p.is_file())
    assert written == ["intent.jsonl", "train.yaml"]
    return bundle


def test_one_graph_carries_three_heads_past_parity_and_the_gate(intent_bundle: Path) -> None:
    manifest = load_manifest(intent_bundle)
    assert list(manifest.tasks) == ["qa", "nli", "intent"]
    intent = manifest.tasks.intent
    assert intent is not None and intent.kind == "classification"
    assert (intent.labels, intent.fields, intent.outputs) == (
        tuple(LABELS),
        ("text",),
        ("intent_logits",),
    )
    assert manifest.outputs == ("start_logits", "end_logits", "nli_logits", "intent_logits")
    quality = manifest.quality
    assert set(quality["parity_max_abs_diff"]) == set(manifest.outputs)
    assert set(quality["metric_drops"]) == {"qa.f1", "qa.exact", "nli.accuracy", "intent.accuracy"}
    assert all(abs(drop) <= quality["metric_budget"] for drop in quality["metric_drops"].values())
    assert quality["batch_invariance"]["rows"]["intent"] > 0


async def _mixed(url: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return list(
            await asyncio.gather(
                client.post("/v1/tasks/intent", json={"text": "is it going to snow"}),
                client.post("/qa", json={"question": "Who met?", "context": "The board met."}),
                client.post("/nli", json={"premise": "A dog runs.", "hypothesis": "An animal."}),
            )
        )


def inference_runs(metrics: dict[str, float]) -> dict[str, float]:
    prefix = 'road_stage_duration_seconds_count{model="road",stage="inference",task="'
    return {k[len(prefix) : -2]: v for k, v in metrics.items() if k.startswith(prefix)}


def test_the_server_answers_the_new_task_beside_qa_and_nli(intent_bundle: Path) -> None:
    env = {"ROAD_MAX_WAIT_MS": "2000", "ROAD_MAX_BATCH_TOKENS": "4096"}
    with server_process(intent_bundle, env) as server:
        single = httpx.post(f"{server.url}/v1/tasks/intent", json={"text": "play a song"})
        assert single.status_code == 200, single.text
        body = single.json()
        assert body["label"] in LABELS and set(body["scores"]) == set(LABELS)
        assert abs(sum(body["scores"].values()) - 1) < 1e-5
        batch = httpx.post(
            f"{server.url}/v1/tasks/intent/batch",
            json={"items": [{"text": "hello"}, {"text": "bye"}]},
        )
        assert batch.status_code == 200 and len(batch.json()["results"]) == 2
        schema = httpx.get(f"{server.url}/openapi.json").json()["components"]["schemas"]
        assert schema["IntentRequest"]["required"] == ["text"]
        before = inference_runs(server.metrics())
        responses = asyncio.run(_mixed(server.url))
        assert [r.status_code for r in responses] == [200, 200, 200]
        after = inference_runs(server.metrics())
        # The three requests' rows ran in one session run, labelled with all three tasks.
        assert sum(after.values()) - sum(before.values()) == 1
        assert after.get("intent+nli+qa", 0) - before.get("intent+nli+qa", 0) == 1


def test_road_score_scores_the_new_task(intent_bundle: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(TEXTS["music"]))
    )
    out = tmp_path / "out"
    args = ["score", "-i", str(rows), "-o", str(out), "--bundle", str(intent_bundle)]
    result = CliRunner().invoke(app, [*args, "--format", "jsonl", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout[result.stdout.index("{") :])["task"] == "intent"
    scored = [
        json.loads(line) for p in sorted(out.glob("part-*")) for line in p.read_text().splitlines()
    ]
    assert [r["id"] for r in scored] == [0, 1, 2, 3]
    assert all(r["label"] in LABELS and set(r["scores"]) == set(LABELS) for r in scored)
