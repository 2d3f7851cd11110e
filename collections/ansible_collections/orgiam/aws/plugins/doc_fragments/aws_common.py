# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS connection options of orgiam's actions, spelled as amazon.aws spells them (region apart:
each action says what its region is for)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  profile:
    description: Named profile for the caller's credentials; the standard chain otherwise.
    type: str
    aliases: [aws_profile]
  endpoint_url:
    description: AWS endpoint (for the emulator). C(AWS_ENDPOINT_URL) is honoured without it.
    type: str
    aliases: [aws_endpoint_url]
  access_key:
    description: AWS access key id; the standard chain otherwise.
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description: AWS secret access key; the standard chain otherwise.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description: AWS session token, with temporary credentials.
    type: str
    aliases: [aws_session_token]
  aws_ca_bundle:
    description: A CA bundle to verify AWS's certificates with.
    type: path
  validate_certs:
    description: Whether to verify TLS certificates. Leave it on against AWS.
    type: bool
    default: true
"""
