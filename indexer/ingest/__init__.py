"""Ingest: files to documents (decode, formats, segments, catalogue, JSONL). Nothing here writes the index."""
