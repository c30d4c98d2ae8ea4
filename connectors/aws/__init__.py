"""The AWS sources: ``aws_cur`` (CUR 2.0 / Data Exports in S3) and ``aws_cost_explorer``."""
