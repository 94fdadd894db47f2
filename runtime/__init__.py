"""The model layer: bundle → ONNX Runtime session → per-task outputs, with no HTTP in it.

The server (`road.service`), the batch job (`road.score`) and export (`road.export`) share it:
session and providers, CPU threads, packing and scheduling, request/response schemas, head
decoding and `road inspect`.
"""
