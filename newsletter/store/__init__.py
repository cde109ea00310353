"""The article store: sections and articles, deduplicated by canonical URL."""
