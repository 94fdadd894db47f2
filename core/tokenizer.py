"""Loading the bundle's fast tokenizer with road's own truncation and padding settings."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

TOKENIZER_FILE = "tokenizer.json"


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load `tokenizer.json` (a file or the directory holding it) with padding and truncation off.

    Checkpoints such as sentence-transformers' carry their own truncation settings; road must
    never inherit them silently, so each task encoder sets its own.
    """
    path = Path(path)
    if path.is_dir():
        path = path / TOKENIZER_FILE
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer
