# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run at a time per organization: a lock in a DynamoDB table of the central account.

Taking the lock is one conditional write (``PutItem`` that succeeds only when no lock is held or the
one held has expired), so two runs can never both hold it. The lock names its holder (who, where,
which run) and when it was taken; it expires ``ttl`` seconds after it was last renewed, so a run that
was killed leaves a lock that the next run may take once it has expired. A run renews it while it works.
The table is created on first use.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from .errors import AwsAccessError, error_code, explain_aws_error, is_transient
from .waiters import DEFAULT_CLOCK, Clock

LOCK_KEY = "organization"


@dataclass(frozen=True)
class Holder:
    run_id: str
    owner: str
    started_at: float
    expires_at: float

    def describe(self, now: float) -> str:
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.started_at))
        return (f"{self.owner} (run {self.run_id[:8]}, since {started}, {int(max(0, now - self.started_at))} s ago; "
                f"expires in {int(max(0, self.expires_at - now))} s)")


def default_owner() -> str:
    """Who takes the lock: the CodeBuild build when there is one, else user@host."""
    build = os.environ.get("CODEBUILD_BUILD_ID")
    if build:
        return f"codebuild {build}"
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


class LockHeld(AwsAccessError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "LockHeld")


class RunLock:
    """The lock of one run. ``acquire`` waits up to ``wait`` seconds for a lock someone else holds."""

    def __init__(self, dynamodb: Any, table: str, ttl: float = 3600.0, owner: str | None = None,
                 clock: Clock = DEFAULT_CLOCK, wall: Callable[[], float] = time.time) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.ttl = ttl
        self.owner = owner or default_owner()
        self.run_id = uuid.uuid4().hex
        self.clock = clock
        self.wall = wall
        self.held = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _item(self, now: float) -> dict[str, Any]:
        return {
            "pk": {"S": LOCK_KEY},
            "run_id": {"S": self.run_id},
            "owner": {"S": self.owner},
            "started_at": {"N": str(int(now))},
            "expires_at": {"N": str(int(now + self.ttl))},
        }

    def _put(self) -> bool:
        now = self.wall()
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item=self._item(now),
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
            )
            return True
        except Exception as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                return False
            if code == "ResourceNotFoundException":
                self._create_table()
                return self._put()
            raise explain_aws_error(exc, doing=f"take the run lock in table {self.table}") from None

    def _create_table(self) -> None:
        try:
            self.dynamodb.create_table(
                TableName=self.table,
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                Tags=[{"Key": "orgiam:managed-by", "Value": "orgiam"}],
            )
        except Exception as exc:
            if error_code(exc) != "ResourceInUseException":  # made at the same time by another run
                raise explain_aws_error(exc, doing=f"create the run lock table {self.table}") from None
        for _ in range(60):
            status = self.dynamodb.describe_table(TableName=self.table)["Table"].get("TableStatus")
            if status == "ACTIVE":
                return
            self.clock.sleep(1.0)
        raise AwsAccessError(f"the run lock table {self.table} did not become ACTIVE", "Timeout")

    def holder(self) -> Holder | None:
        try:
            item = self.dynamodb.get_item(TableName=self.table, Key={"pk": {"S": LOCK_KEY}}, ConsistentRead=True).get("Item")
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise explain_aws_error(exc, doing=f"read the run lock in table {self.table}") from None
        if not item:
            return None
        return Holder(item["run_id"]["S"], item.get("owner", {}).get("S", "?"), float(item["started_at"]["N"]),
                      float(item["expires_at"]["N"]))

    def acquire(self, wait: float = 0.0, on_wait: Callable[[Holder], None] | None = None) -> None:
        """Take the lock, or raise LockHeld naming the holder once ``wait`` seconds have passed."""
        started = self.clock.now()
        told = False
        while True:
            if self._put():
                return self._hold()
            holder = self.holder()
            if holder is not None and holder.run_id == self.run_id:
                return self._hold()  # a first attempt took it, and its answer was lost: the retry found our own lock
            waited = self.clock.now() - started
            if holder is not None and waited >= wait:
                raise LockHeld(
                    f"another orgiam run holds the lock of this organization: {holder.describe(self.wall())}. "
                    f"Wait for it to finish, or, if that run was killed, wait for the lock to expire; "
                    f"to remove it now: aws dynamodb delete-item --table-name {self.table} "
                    f"--key '{{\"pk\": {{\"S\": \"{LOCK_KEY}\"}}}}' (in the central account)")
            if holder is not None and on_wait is not None and not told:
                on_wait(holder)
                told = True
            self.clock.sleep(min(5.0, max(0.5, wait / 20)))

    def _hold(self) -> None:
        self.held = True
        self._start_renewing()

    def _start_renewing(self) -> None:
        def renew() -> None:
            while not self._stop.wait(self.ttl / 3):
                try:
                    self.dynamodb.update_item(
                        TableName=self.table, Key={"pk": {"S": LOCK_KEY}},
                        UpdateExpression="SET expires_at = :expires",
                        ConditionExpression="run_id = :me",
                        ExpressionAttributeValues={":expires": {"N": str(int(self.wall() + self.ttl))},
                                                   ":me": {"S": self.run_id}},
                    )
                except Exception:  # the run goes on; at worst the lock expires and the next run may start
                    return

        self._renewer = threading.Thread(target=renew, name="orgiam-lock-renew", daemon=True)
        self._renewer.start()

    def release(self, attempts: int = 5) -> None:
        """Let the lock go, if this run holds it (a lock taken over after expiry is left to its new holder).

        Tried again on transient errors: a lock left behind blocks every run until it expires."""
        self._stop.set()
        if not self.held:
            return
        self.held = False
        for attempt in range(1, attempts + 1):
            try:
                self.dynamodb.delete_item(
                    TableName=self.table, Key={"pk": {"S": LOCK_KEY}},
                    ConditionExpression="run_id = :me", ExpressionAttributeValues={":me": {"S": self.run_id}},
                )
                return
            except Exception as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    return  # gone already (an earlier attempt whose answer was lost), or taken over after expiry
                if attempt == attempts or not is_transient(exc):
                    raise explain_aws_error(exc, doing=f"release the run lock in table {self.table}") from None
                self.clock.sleep(min(2.0 ** attempt, 10.0))
