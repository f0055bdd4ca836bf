"""Export of a trained ``step()`` to ONNX / TensorRT (import as ``ssr.export``)."""
