"""Where the emulator listens by default."""

from __future__ import annotations

import os

PORT_ENV_VAR = "ORGIAM_EMULATOR_PORT"
DEFAULT_PORT = 5000
HOST = "127.0.0.1"
REGION = "us-east-1"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def default_port() -> int:
    """The port from ``ORGIAM_EMULATOR_PORT``, else 5000."""
    value = os.environ.get(PORT_ENV_VAR, "").strip()
    return int(value) if value else DEFAULT_PORT


def default_endpoint_url() -> str:
    return f"http://{HOST}:{default_port()}"


def client_environment(endpoint_url: str) -> dict[str, str]:
    """The environment variables that point the AWS CLI and SDKs at the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": REGION,
    }
