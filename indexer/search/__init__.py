"""Search: query parsing, ranking, re-ranking, highlighting, synonyms and the read-only browsing views."""
