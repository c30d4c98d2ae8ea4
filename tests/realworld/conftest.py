from tests.unit.connectors.aws.conftest import aws_env, s3

__all__ = ["aws_env", "s3"]
