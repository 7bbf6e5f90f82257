"""Exporting trained runs to ONNX (fp32, fp16, int8), their metadata and parity checks."""
