"""The ``focus`` source: FOCUS 1.0–1.2 CSV or Parquet files (Azure, OCI, AWS FOCUS exports)."""
