"""Export: a training checkpoint to a verified ONNX bundle (see docs/bundle.md).

The entry point is `road.export.pipeline.export_bundle`; it needs the `export` extra (torch).
"""
