"""Lookups that do not grow with the number of accounts.

moto 5.2.5 finds many things by walking every account it knows, on every request. With 10,000 accounts
that walk, not the work a call asks for, is most of a call's CPU. This extension replaces the walks on
the hot paths of a sync (and of seeding) by indexes, with the same answers:

- ``BackendDict[account_id]`` (every ``*_backends[account]`` moto and the emulator look up, several per
  request) checked whether the account had a backend with ``account_id in list(self.keys())``: a copy
  and a linear search of every account's id, under moto's global ``backend_lock``. Here: a dict lookup.
- The account an access key belongs to (``emulator.call_log._account_holding``, once per new key, that is
  once per assumed-role session) walked the IAM backend of every account. IAM records here the account
  each key is made in (``create_access_key``, ``create_temp_access_key``, which STS's AssumeRole uses),
  and the walk is left for a key that record does not know. The record is a hint, checked against the
  account's IAM before it is believed, so a stale entry (a deleted key, a reset) costs only the walk.
- Organizations finds an account by id (DescribeAccount, MoveAccount, ListParents, tags, policies) and
  the accounts of a parent (ListAccountsForParent, ListChildren of accounts) by scanning every account on
  every call (every page, for a paged list; AttachPolicy, twice in every CreateAccount). ``OrganizationsBackend.accounts`` is kept here as a list
  that indexes its accounts by id and by parent as it changes (an account moved between parents moves in
  the index), with the same answers in the same order.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_installed = False
_install_lock = threading.Lock()

# --- access key -> account -----------------------------------------------------------------------

_key_lock = threading.Lock()
_account_of_key: dict[str, str] = {}


def account_of_access_key(access_key_id: str) -> str | None:
    """The account whose IAM holds ``access_key_id``, if IAM made it here (checked), else None."""
    from moto.iam.models import iam_backends

    with _key_lock:
        account_id = _account_of_key.get(access_key_id)
    if account_id is None:
        return None
    account_backends = dict.get(iam_backends, account_id)  # never creates one
    if account_backends is None:
        return None
    for backend in list(dict.values(account_backends)):
        if access_key_id in backend.access_keys:
            return account_id
    return None


def clear() -> None:
    """Forget the access keys (moto's state was reset)."""
    with _key_lock:
        _account_of_key.clear()


def _remember_key(account_id: str, key: Any) -> Any:
    key_id = getattr(key, "physical_resource_id", None) or getattr(key, "access_key_id", None)
    if key_id:
        with _key_lock:
            _account_of_key[str(key_id)] = str(account_id)
    return key


def _patch_iam_keys() -> None:
    from moto.iam.models import IAMBackend

    create_access_key = IAMBackend.create_access_key
    create_temp_access_key = IAMBackend.create_temp_access_key

    def _create_access_key(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _remember_key(self.account_id, create_access_key(self, *args, **kwargs))

    def _create_temp_access_key(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _remember_key(self.account_id, create_temp_access_key(self, *args, **kwargs))

    IAMBackend.create_access_key = _create_access_key  # type: ignore[method-assign]
    IAMBackend.create_temp_access_key = _create_temp_access_key  # type: ignore[method-assign]


# --- BackendDict[account_id] ---------------------------------------------------------------------


def _patch_backend_dict() -> None:
    from moto.core import base_backend
    from moto.core.base_backend import AccountSpecificBackend, BackendDict

    def _registered(self: Any, instances: list[Any]) -> bool:
        """Whether ``self`` is in ``BackendDict._instances`` (moto only appends to it, and clears it on a
        reset), from the place it was found last time."""
        slot = self.__dict__.get("_orgiam_slot", -1)
        return 0 <= slot < len(instances) and instances[slot] is self

    def _create_account_specific_backend(self: Any, account_id: str) -> None:
        instances = BackendDict._instances
        # what moto's version does, without copying and searching the list of every account's id
        if dict.__contains__(self, account_id) and _registered(self, instances):
            return
        with base_backend.backend_lock:
            if not dict.__contains__(self, account_id):
                self[account_id] = AccountSpecificBackend(
                    service_name=self.service_name,
                    account_id=account_id,
                    backend=self.backend,
                    use_boto3_regions=self._use_boto3_regions,
                    additional_regions=self._additional_regions,
                )
            if not _registered(self, instances):
                slot = next((index for index, instance in enumerate(instances) if instance is self), None)
                if slot is None:
                    instances.append(self)
                    slot = len(instances) - 1
                self.__dict__["_orgiam_slot"] = slot

    BackendDict._create_account_specific_backend = _create_account_specific_backend  # type: ignore[method-assign]


# --- Organizations: accounts by id and by parent --------------------------------------------------


class IndexedAccounts(list):  # type: ignore[type-arg]
    """``OrganizationsBackend.accounts``: a list of FakeAccount that also indexes them by id and by parent.

    Appending (what moto does) and moving an account (setting its ``parent_id``) update the index; any
    other change to the list rebuilds it on the next lookup. The index keeps, for each parent, its accounts
    in list order, so answers are the ones a scan of the list gives.
    """

    def __init__(self, accounts: Any = ()) -> None:
        super().__init__(accounts)
        self._lock = threading.RLock()
        self._dirty = True
        self._by_id: dict[str, Any] = {}
        self._by_parent: dict[str, dict[int, Any]] = {}
        self._position: dict[int, int] = {}  # id(account) -> order in the list
        self._next = 0
        for account in self:
            _own(account, self)

    # the index

    def _rebuild(self) -> None:
        self._by_id = {}
        self._by_parent = {}
        self._position = {}
        for position, account in enumerate(self):
            _own(account, self)
            self._by_id.setdefault(account.id, account)  # the first one, as a scan finds
            self._by_parent.setdefault(account.parent_id, {})[id(account)] = account
            self._position[id(account)] = position
        self._next = len(self)
        self._dirty = False

    def _fresh(self) -> None:
        if self._dirty:
            self._rebuild()

    def by_id(self, account_id: str) -> Any:
        with self._lock:
            self._fresh()
            return self._by_id.get(account_id)

    def of_parent(self, parent_id: str) -> list[Any]:
        """The accounts whose parent is ``parent_id``, in list order."""
        with self._lock:
            self._fresh()
            bucket = list(self._by_parent.get(parent_id, {}).values())
            position = self._position
        bucket.sort(key=lambda account: position[id(account)])
        return bucket

    def _moved(self, account: Any, old_parent: Any, new_parent: Any) -> None:
        with self._lock:
            if self._dirty or id(account) not in self._position:
                return
            self._by_parent.get(old_parent, {}).pop(id(account), None)
            self._by_parent.setdefault(new_parent, {})[id(account)] = account

    def _invalidate(self) -> None:
        with self._lock:
            self._dirty = True

    # list changes

    def append(self, account: Any) -> None:
        with self._lock:
            super().append(account)
            _own(account, self)
            if self._dirty or id(account) in self._position:
                self._dirty = True
                return
            self._by_id.setdefault(account.id, account)
            self._by_parent.setdefault(account.parent_id, {})[id(account)] = account
            self._position[id(account)] = self._next
            self._next += 1

    def remove(self, account: Any) -> None:
        with self._lock:
            super().remove(account)
            self._dirty = True

    def __reduce_ex__(self, protocol: Any) -> Any:  # copies and pickles are plain lists
        return (list, (list(self),))


def _changing(name: str) -> Any:
    method = getattr(list, name)

    def changed(self: IndexedAccounts, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            result = method(self, *args, **kwargs)
            self._dirty = True
        return self if name in ("__iadd__", "__imul__") else result

    changed.__name__ = name
    return changed


for _name in ("insert", "extend", "pop", "clear", "sort", "reverse", "__setitem__", "__delitem__", "__iadd__",
              "__imul__"):
    setattr(IndexedAccounts, _name, _changing(_name))


def _own(account: Any, owner: IndexedAccounts) -> None:
    account.__dict__["_orgiam_owner"] = owner


def _patch_organizations() -> None:
    from moto.organizations import models
    from moto.organizations.exceptions import AccountNotFoundException
    from moto.utilities.paginator import paginate

    backend_class = models.OrganizationsBackend
    account_class = models.FakeAccount

    # FakeAccount.parent_id: a property, so that a move reaches the index of the list holding the account
    def _get_parent(self: Any) -> Any:
        try:
            return self.__dict__["_orgiam_parent_id"]
        except KeyError:
            raise AttributeError("parent_id") from None

    def _set_parent(self: Any, value: Any) -> None:
        old = self.__dict__.get("_orgiam_parent_id")
        self.__dict__["_orgiam_parent_id"] = value
        owner = self.__dict__.get("_orgiam_owner")
        if owner is not None and old != value:
            owner._moved(self, old, value)

    account_class.parent_id = property(_get_parent, _set_parent)  # type: ignore[attr-defined]

    # OrganizationsBackend.accounts: always an IndexedAccounts, whatever is assigned
    def _get_accounts(self: Any) -> IndexedAccounts:
        accounts = self.__dict__.get("_orgiam_accounts")
        if accounts is None:  # a backend made before the install keeps its list under the plain name
            accounts = self.__dict__["_orgiam_accounts"] = IndexedAccounts(self.__dict__.pop("accounts", ()))
        return accounts

    def _set_accounts(self: Any, value: Any) -> None:
        self.__dict__["_orgiam_accounts"] = value if isinstance(value, IndexedAccounts) else IndexedAccounts(value)

    backend_class.accounts = property(_get_accounts, _set_accounts)  # type: ignore[attr-defined]

    def get_account_by_id(self: Any, account_id: str) -> Any:
        account = self.accounts.by_id(account_id)
        if account is None:
            raise AccountNotFoundException
        return account

    def list_accounts_for_parent(self: Any, parent_id: str) -> list[Any]:
        parent_id = self.validate_parent_id(parent_id)
        return sorted(self.accounts.of_parent(parent_id), key=lambda x: x.create_time)

    list_children = backend_class.list_children

    def _list_children(self: Any, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("ChildType") != "ACCOUNT":
            return list_children(self, **kwargs)
        parent_id = self.validate_parent_id(kwargs["ParentId"])
        return {"Children": [{"Id": account.id, "Type": "ACCOUNT"} for account in self.accounts.of_parent(parent_id)]}

    def move_account(self: Any, **kwargs: Any) -> None:
        new_parent_id = self.validate_parent_id(kwargs["DestinationParentId"])
        self.validate_parent_id(kwargs["SourceParentId"])
        account = self.get_account_by_id(kwargs["AccountId"])
        account.parent_id = new_parent_id

    attach_policy = backend_class.attach_policy
    not_account = re.compile(f"{models.utils.ROOT_ID_REGEX}|{models.utils.OU_ID_REGEX}")
    account_pattern = re.compile(models.utils.ACCOUNT_ID_REGEX)

    def _attach_policy(self: Any, **kwargs: Any) -> None:
        """moto's, finding an account target in the index (CreateAccount attaches two policies)."""
        target_id = kwargs["TargetId"]
        if re.match(not_account, target_id) or not re.match(account_pattern, target_id):
            return attach_policy(self, **kwargs)
        policy = self.get_policy_by_id(kwargs["PolicyId"])
        account = self.accounts.by_id(target_id)
        if account is None:
            raise AccountNotFoundException
        if policy not in account.attached_policies:
            account.attached_policies.append(policy)
            policy.attachments.append(account)
        return None

    backend_class.attach_policy = _attach_policy  # type: ignore[method-assign]
    backend_class.get_account_by_id = get_account_by_id  # type: ignore[method-assign]
    backend_class.list_accounts_for_parent = paginate(pagination_model=models.utils.PAGINATION_MODEL)(  # type: ignore[method-assign]
        list_accounts_for_parent)
    backend_class.list_children = _list_children  # type: ignore[method-assign]
    backend_class.move_account = move_account  # type: ignore[method-assign]


def install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        _patch_backend_dict()
        _patch_iam_keys()
        _patch_organizations()
        _installed = True


def account_by_id(backend: Any, account_id: str) -> Any:
    """The first account of an organizations backend with this id, or None: what a scan of
    ``backend.accounts`` finds, from the index when the list has one."""
    accounts = backend.accounts
    if isinstance(accounts, IndexedAccounts):
        return accounts.by_id(account_id)
    return next((account for account in accounts if account.id == account_id), None)
