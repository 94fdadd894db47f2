"""`road score`: batch scoring of QA and NLI files with the server's runtime (docs/score.md)."""
