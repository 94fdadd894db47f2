"""Real QA and NLI inputs for load tests: ../shared/data when present, else the test fixtures."""

from __future__ import annotations

import random
from pathlib import Path

from road.core.data import read_nli, read_squad

# About 100 tokens: longer real pairs may exceed the bundle's limit and get a 422.
MAX_NLI_PAIR_CHARS = 400
# Used only where ../shared/data is missing (a fresh CI machine without the data directory).
FALLBACK_QA = [
    (
        "Which rivers meet at Lyon?",
        "Lyon is the third-largest city of France. It lies at the confluence of the rivers "
        "Rhône and Saône. The city was founded by the Romans in 43 BC.",
    ),
    (
        "Who introduced printing to Europe?",
        "Johannes Gutenberg introduced printing to Europe around 1440. His press used movable "
        "metal type and oil-based ink.",
    ),
]
FALLBACK_NLI = [
    ("A man is playing a guitar on stage.", "A man is performing music."),
    ("A man is playing a guitar on stage.", "The stage is empty."),
    ("Two dogs run across a snowy field.", "The dogs are sleeping indoors."),
]

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
QA_FILE = DATA / "qa" / "squadshifts-dev.json.gz"
NLI_FILE = DATA / "nli" / "vitaminc-dev.jsonl.gz"


def qa_items(count: int, seed: int = 0, max_context_chars: int = 100_000) -> list[dict]:
    """Questions on real contexts of their real lengths (several windows for some)."""
    if QA_FILE.exists():
        examples = read_squad(QA_FILE)
        pool = [(e.question, e.context) for e in examples if len(e.context) <= max_context_chars]
    else:
        pool = [(q, c * reps) for q, c in FALLBACK_QA for reps in (1, 3, 12)]
    rng = random.Random(seed)
    return [{"question": q, "context": c} for q, c in rng.choices(pool, k=count)]


def nli_items(count: int, seed: int = 0) -> list[dict]:
    """Real pairs short enough for the bundle's 128-token NLI limit."""
    if NLI_FILE.exists():
        pairs = [(e.premise, e.hypothesis) for e in read_nli(NLI_FILE)]
        pool = [(p, h) for p, h in pairs if len(p) + len(h) <= MAX_NLI_PAIR_CHARS]
    else:
        pool = FALLBACK_NLI
    rng = random.Random(seed)
    return [{"premise": p, "hypothesis": h} for p, h in rng.choices(pool, k=count)]


def long_nli_items(count: int, seed: int = 0, premises: int = 6) -> list[dict]:
    """Pairs whose premise joins `premises` real premises, one of them the hypothesis's own.

    Several hundred tokens each: over the bundle's 128-token window, so they are windowed.
    """
    if NLI_FILE.exists():
        pairs = [(e.premise, e.hypothesis) for e in read_nli(NLI_FILE)]
    else:
        pairs, premises = FALLBACK_NLI, premises * 6  # short premises: more of them
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        own, hypothesis = rng.choice(pairs)
        others = [p for p, _ in rng.choices(pairs, k=premises - 1)]
        others.insert(rng.randrange(premises), own)
        items.append({"premise": " ".join(others), "hypothesis": hypothesis})
    return items
