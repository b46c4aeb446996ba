"""Offline jobs of dedupblock: building protected indexes, corpus deduplication.

Depends on :mod:`dedupblock` (featurizers, sketches, store); never the reverse.
"""
