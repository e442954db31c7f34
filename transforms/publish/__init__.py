"""Writing releases: deterministic file formats and the immutable, versioned release folder."""
