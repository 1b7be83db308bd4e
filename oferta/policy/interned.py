"""One shared ``Policy`` object per distinct policy in a process, however many workflows hold it.

Every ServiceContract workflow's input carries its whole policy, and the data converter decodes a
copy for each workflow: about 36 KiB of objects, the same for every service under one version of
one policy. ``SharedPolicy`` is ``Policy`` with a validator that hands back the process's one
instance with the same content (keyed by a digest of its JSON), so the freshly decoded copy is
dropped at once. A policy is frozen and the engine never changes one, so workflows can share it;
what a workflow sends (its continue-as-new input) serialises to the same bytes.

The table holds policies weakly: a version no cached workflow holds any more is collected.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from typing import Annotated

from pydantic import AfterValidator

from oferta.policy.schema import Policy

_SHARED: weakref.WeakValueDictionary[bytes, Policy] = weakref.WeakValueDictionary()
_LOCK = threading.Lock()  # workflow tasks decode their inputs on the worker's threads


def shared_policy(policy: Policy) -> Policy:
    """The process's instance equal to ``policy`` (``policy`` itself the first time)."""
    key = hashlib.blake2b(policy.__pydantic_serializer__.to_json(policy), digest_size=16).digest()
    with _LOCK:
        found = _SHARED.get(key)
        if found is None:
            _SHARED[key] = found = policy
    return found


def shared_count() -> int:
    """How many distinct policies the table holds (tests, diagnostics)."""
    return len(_SHARED)


# For a model field: validated as a Policy (same schema, same JSON), then replaced by the shared one.
SharedPolicy = Annotated[Policy, AfterValidator(shared_policy)]
