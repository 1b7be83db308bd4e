"""The contract state machine: given a policy and what has happened, what comes next.

``Contract.next_deadline`` names the next step the contract makes happen by
itself (with its clause); ``on_deadline`` and ``on_event`` apply a step or an
input to the state and return the effects to carry out: timeline entries,
notices, provisioning calls and refunds. The workflow only waits for the
deadline or an input and carries out the effects.

Modules: ``core`` (time, dispatch, shared steps), one module per billing model
(``invoice``, ``balance``, ``tariff``), ``exits`` (every way a contract ends)
and ``effects`` (what a step asks the workflow to do).
"""

from oferta.timeline.engine.core import Contract, closed_reason, describe
from oferta.timeline.engine.effects import ProvisionIntent, RefundIntent, Transition
from oferta.timeline.state import ServiceStatus

__all__ = [
    "Contract",
    "ServiceStatus",
    "ProvisionIntent",
    "RefundIntent",
    "Transition",
    "closed_reason",
    "describe",
]
