"""boto3 sessions for talking to the emulator.

They ignore the user's AWS configuration (``AWS_PROFILE``, ``~/.aws/config``): a platform engineer
with a real profile exported must still be able to seed the emulator. And they share one botocore data
loader: a new botocore session reads botocore's endpoint and service model files again (about 0.2 s),
and the seeder and the tests make several sessions per organization.
"""

from __future__ import annotations

import functools
import os

import boto3
import botocore.loaders
import botocore.session


@functools.lru_cache(maxsize=1)
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


# botocore session variables: (config file key, environment variables, default, conversion)
_WITHOUT_USER_CONFIGURATION = {
    "profile": (None, None, None, None),
    "config_file": (None, None, os.devnull, None),
    "credentials_file": (None, None, os.devnull, None),
}


def botocore_session() -> botocore.session.Session:
    session = botocore.session.Session(session_vars=_WITHOUT_USER_CONFIGURATION)
    session.register_component("data_loader", _shared_loader())
    return session


def boto3_session(
    aws_access_key_id: str, aws_secret_access_key: str, aws_session_token: str | None = None,
    region_name: str = "us-east-1",
) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
        region_name=region_name,
        botocore_session=botocore_session(),
    )
