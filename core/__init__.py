"""Shared core: task definitions, pre/post-processing, metrics and the bundle format."""
