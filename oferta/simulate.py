"""The time machine: run a scenario through the real workflow on the time-skipping server.

Months of contract time pass in seconds. The scenario's events are sent as
signals at their times; the timeline is what the activities were asked to do.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.policy import PolicyError, load_policy
from oferta.policy.loader import YamlTooLarge, check_yaml_size
from oferta.policy.schema import Policy
from oferta.sandbox import workflow_runner
from oferta.temporal import quiet_runtime, test_server_path
from oferta.timeline.engine import Contract
from oferta.timeline.money import Amount, Money
from oferta.timeline.periods import parse_period
from oferta.timeline.state import (
    BillingEvent,
    CancelScope,
    EventType,
    ServiceSpec,
    ServiceState,
    ServiceView,
    TimelineEntry,
)
from workflows.client import ServiceHandle, service_handle, start_service
from workflows.service_lifecycle import ServiceLifecycleWorkflow


class ScenarioError(ValueError):
    """A scenario that cannot run, with the line it is on."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The bounds the API puts on the same values: a sum is positive with at most two decimals, a
# moment lies where the engine can count terms from it, and a period is at most ten years.
ScenarioAmount = Annotated[Amount, Field(gt=0, max_digits=16, decimal_places=2)]
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# Ten years of contract time at most: the run stays seconds long and every term stays countable.
MAX_SPAN = timedelta(days=3660)


def _sane_time(value: datetime) -> datetime:
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("must lie between 2000-01-01 and 2100-01-01")
    return value


ScenarioTime = Annotated[AwareDatetime, AfterValidator(_sane_time)]


class ScenarioService(_Strict):
    kind: str = "hosting"
    tariff: str
    price: ScenarioAmount
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    period: str = "P1M"
    trial: bool = False

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        months, days = parse_period(value)
        if months > 120 or days > 3660:
            raise ValueError("period is longer than ten years")
        return value


class ScenarioCustomer(_Strict):
    name: str
    email: str | None = None
    phone: str | None = None
    locale: Literal["ru", "kk", "en"] = "ru"
    # A consumer has the statutory withdrawal right where the contract gives it.
    consumer: bool = False


class ScenarioEvent(_Strict):
    at: ScenarioTime
    type: EventType
    amount: ScenarioAmount | None = None
    currency: str | None = None
    invoice_id: str | None = None
    due_at: ScenarioTime | None = None
    effective_at: ScenarioTime | None = None
    price: ScenarioAmount | None = None
    tariff: str | None = None
    reason: str | None = None
    # cancel_request: this service (the default) or the whole contract.
    scope: CancelScope | None = None
    # promise_to_pay: the customer promises to pay by this moment (its local date counts).
    promised_at: ScenarioTime | None = None
    # force_majeure_terminate: who exercises the option.
    party: Literal["customer", "provider"] | None = None

    @model_validator(mode="after")
    def _fields_of_the_type(self) -> ScenarioEvent:
        if self.type is EventType.PROMISE_TO_PAY and self.promised_at is None:
            raise ValueError("promise_to_pay needs promised_at, the moment the customer promises to pay by")
        only = {
            "scope": EventType.CANCEL_REQUEST,
            "promised_at": EventType.PROMISE_TO_PAY,
            "party": EventType.FORCE_MAJEURE_TERMINATE,
        }
        for name, event_type in only.items():
            if getattr(self, name) is not None and self.type is not event_type:
                raise ValueError(f"{name} belongs to {event_type.value} events, not {self.type.value}")
        return self


class Scenario(_Strict):
    policy: str
    start: ScenarioTime
    service: ScenarioService
    customer: ScenarioCustomer
    events: list[ScenarioEvent] = Field(default_factory=list)
    until: ScenarioTime


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping, so errors can name it."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(key): value for key, value in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _line_of(raw: Any, loc: tuple[Any, ...]) -> int | None:
    line, node = None, raw
    for part in loc:
        if isinstance(node, dict):
            line = node.get("__line__", line)
            if part not in node:
                break
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
    if isinstance(node, dict):
        line = node.get("__line__", line)
    return line


def parse_scenario(text: str) -> Scenario:
    try:
        raw = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
        check_yaml_size(raw)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ScenarioError(f"not valid YAML: {exc.problem}", line) from exc
    except yaml.YAMLError as exc:  # e.g. a control character the reader refuses
        raise ScenarioError(f"not valid YAML: {exc}") from exc
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ScenarioError("not valid YAML: nested too deeply") from None
    except YamlTooLarge as exc:
        raise ScenarioError(str(exc)) from None
    if not isinstance(raw, dict):
        raise ScenarioError("a scenario is a mapping with policy, start, service, customer, events, until")
    try:
        scenario = Scenario.model_validate(_strip_lines(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ScenarioError(f"{field}: {err['msg']}", _line_of(raw, err["loc"])) from exc
    try:
        policy = load_policy(scenario.policy)
    except KeyError as exc:
        raise ScenarioError(str(exc.args[0]), raw.get("__line__")) from exc
    except PolicyError as exc:
        raise ScenarioError(
            f"policy {scenario.policy} does not load: {exc}", _line_of(raw, ("policy",))
        ) from exc
    refusal = Contract(policy).start_refusal(_spec(scenario, policy, "sim-check"))
    if refusal:
        field, reason = refusal
        raise ScenarioError(f"service.{field}: {reason}", _line_of(raw, ("service", field)))
    if scenario.until <= scenario.start:
        raise ScenarioError("until must be after start", _line_of(raw, ("until",)))
    if scenario.until - scenario.start > MAX_SPAN:
        raise ScenarioError("until must be at most ten years after start", _line_of(raw, ("until",)))
    for index, event in enumerate(scenario.events):
        if not scenario.start <= event.at <= scenario.until:
            raise ScenarioError(
                "event time must lie between start and until", _line_of(raw, ("events", index))
            )
    return scenario


def _billing_event(event: ScenarioEvent, index: int, currency: str) -> BillingEvent:
    def money(value: Decimal | None) -> Money | None:
        if value is None:
            return None
        try:
            return Money.of(value, event.currency or currency)
        except (InvalidOperation, ValidationError) as exc:
            raise ScenarioError(f"events[{index}]: bad amount {value}") from exc

    return BillingEvent(
        event_id=f"scenario-{index}",
        type=event.type,
        amount=money(event.amount),
        invoice_id=event.invoice_id,
        due_at=event.due_at,
        effective_at=event.effective_at,
        new_price=money(event.price),
        new_tariff=event.tariff,
        reason=event.reason,
        force_majeure_id=f"fm-{index}" if event.type is EventType.FORCE_MAJEURE_START else None,
        scope=event.scope,
        promised_at=event.promised_at,
        party=event.party,
        occurred_at=event.at,
    )


def _spec(scenario: Scenario, policy: Policy, service_id: str) -> ServiceSpec:
    return ServiceSpec(
        service_id=service_id,
        customer_id=f"sim-customer-{service_id}",
        policy_id=policy.id,
        kind=scenario.service.kind,
        tariff=scenario.service.tariff,
        price=Money.of(scenario.service.price, scenario.service.currency),
        period=scenario.service.period,
        trial=scenario.service.trial,
        consumer=scenario.customer.consumer,
    )


class SimulationResult(BaseModel):
    policy: Policy
    service_id: str
    timeline: list[TimelineEntry]
    final_state: str
    view: ServiceView
    ignored: list[str]
    # Events the contract refused (nothing on the timeline shows them), each with its reason.
    refused: list[str] = Field(default_factory=list)
    first_run_id: str = ""


async def simulate(scenario: Scenario) -> SimulationResult:
    """Run a scenario on a fresh time-skipping server (no download: the pinned binary)."""
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=test_server_path(),
        runtime=quiet_runtime(),
    ) as env:
        return await run_scenario(env, scenario)


async def run_scenario(
    env: WorkflowEnvironment,
    scenario: Scenario,
    ledger: MemoryLedger | None = None,
    policy: Policy | None = None,
) -> SimulationResult:
    """Run a scenario through the real workflow and activities (in-memory back ends)."""
    policy = policy or load_policy(scenario.policy)
    service_id = f"sim-{uuid.uuid4().hex[:12]}"
    spec = _spec(scenario, policy, service_id)
    ledger = ledger or MemoryLedger()
    ledger.locales[spec.customer_id] = scenario.customer.locale
    activities = ServiceActivities(ledger, ledger, ledger, ledger)
    ignored: list[str] = []
    task_queue = f"simulate-{service_id}"
    workflows = [ServiceLifecycleWorkflow]
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=workflows,
        workflow_runner=workflow_runner(workflows),  # the sandbox as worker.py runs it
        activities=activities.all(),
    ):
        shift = scenario.start - await env.get_current_time()
        handle = await start_service(
            env.client,
            policy,
            spec,
            task_queue=task_queue,
            clock_shift=shift,
            publish_search_attributes=False,
        )
        contract = Contract(policy)
        sent: list[tuple[ScenarioEvent, BillingEvent, str | None]] = []
        for index, event in enumerate(sorted(scenario.events, key=lambda e: e.at)):
            await _sleep_until(env, event.at - shift)
            billing_event = _billing_event(event, index, scenario.service.currency)
            foreseen = await _foreseen_refusal(handle, contract, billing_event, event.at)
            if not await _signal(handle, billing_event):
                ignored.append(f"{event.at.isoformat()} {event.type.value}: the service had ended")
            else:
                sent.append((event, billing_event, foreseen))
        await _sleep_until(env, scenario.until - shift)
        latest = service_handle(env.client, service_id)
        view = await latest.query(ServiceLifecycleWorkflow.view)
        applied = set((await latest.query(ServiceLifecycleWorkflow.state)).applied_event_ids)
        status = (await latest.describe()).status
        if status is not None and status.name == "RUNNING":
            await latest.terminate("simulation reached its end")
    # An event the contract refused leaves nothing on the timeline: say so, with the reason.
    refused = [
        f"{event.at.isoformat()} {event.type.value}: {reason or 'the contract did not apply it'}"
        for event, billing_event, reason in sent
        if billing_event.event_id not in applied
    ]
    entries = sorted(ledger.timeline.get(service_id, []), key=lambda e: e.at)
    return SimulationResult(
        policy=policy,
        timeline=entries,
        final_state=view.state.value,
        ignored=ignored,
        refused=refused,
        view=view,
        service_id=service_id,
        first_run_id=handle.first_execution_run_id or handle.result_run_id or "",
    )


async def _foreseen_refusal(
    handle: ServiceHandle, contract: Contract, event: BillingEvent, at: datetime
) -> str | None:
    """Why the contract would refuse ``event`` in the workflow's current state (advisory: only
    events the workflow did not apply are reported, with this as their reason)."""
    try:
        state: ServiceState = await handle.query(ServiceLifecycleWorkflow.state)
    except Exception:  # a closed or busy workflow: the reason stays unknown
        return None
    return contract.refusal(state, event, max(at, state.timeline[-1].at) if state.timeline else at)


async def _sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    remaining = moment - await env.get_current_time()
    if remaining > timedelta(0):
        await env.sleep(remaining)


async def _signal(handle: ServiceHandle, event: BillingEvent) -> bool:
    from temporalio.service import RPCError

    try:
        await handle.signal(ServiceLifecycleWorkflow.billing_event, event)
        return True
    except RPCError:
        return False


def to_json_items(result: SimulationResult) -> list[dict[str, Any]]:
    tz = ZoneInfo(result.policy.provider.timezone)
    return [
        {
            "at": entry.at.astimezone(tz).replace(microsecond=0).isoformat(),
            "type": entry.type.value,
            "clause": entry.clause,
            "detail": entry.detail,
        }
        for entry in result.timeline
    ]


def render_text(result: SimulationResult) -> str:
    tz = ZoneInfo(result.policy.provider.timezone)
    lines = [f"{result.policy.provider.name} ({result.policy.id}) — times in {tz.key}", ""]
    for entry in result.timeline:
        at = entry.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        clause = (
            f"§{entry.clause}" if entry.clause else "own step" if entry.detail.get("operational") else "—"
        )
        lines.append(f"{at}  {entry.type.value:<24} {clause:<9} {_summary(entry)}")
    lines += ["", f"final state: {result.final_state}"]
    lines += [f"ignored: {note}" for note in result.ignored]
    lines += [f"refused: {note}" for note in result.refused]
    return "\n".join(lines)


def _summary(entry: TimelineEntry) -> str:
    d = entry.detail
    if entry.type.value == "notice":
        preview = f": {d['preview']}" if d.get("preview") else ""
        return f"{d.get('channel')} in {d.get('locale')}{preview}"
    parts = []
    if "amount" in d:
        parts.append(f"{d['amount']} {d.get('currency', '')}".strip())
    if d.get("due_on"):  # a term's last day, inclusive; it runs out at 24:00
        parts.append(f"payable through {d['due_on']}")
    if entry.type.value == "archived" and d.get("status") == "unsupported":
        parts.append("the back end keeps no archives")
    if d.get("step"):  # a safeguard held or let go a step
        parts.append(f"step {d['step']}")
    for key in (
        "reason",
        "note",
        "paid_until",
        "restore_until",
        "deletion_at",
        "effective_at",
        "due_by",
        "terminates_at",
        "days_late",
        "restore_by",
        "starts_at",
        "promised_on",
        "hold",
        "why",
        "reference",
    ):
        if d.get(key) not in (None, ""):
            parts.append(f"{key.replace('_', ' ')} {d[key]}")
    return ", ".join(parts)
