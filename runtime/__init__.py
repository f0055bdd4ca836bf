"""Streaming runtime: the frame-stream denoise API and the native extension's Python side.

Import as ``ssr.runtime``. The compiled hot path lives in ``ssr._native``.
"""
