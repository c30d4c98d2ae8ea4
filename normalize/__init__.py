"""normalize: the canonical FOCUS schema, batch validation, the lake and the catalog."""
