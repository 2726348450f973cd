"""Text: normalization, the one Japanese analyzer, speaker names."""
