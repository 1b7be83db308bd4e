"""The custom search attributes operations filter services by in the Temporal UI.

One registry, used by the workflow (to upsert), by start-up (to register) and
by the CLI. No personal data: ids, codes, dates and amounts only. Within the
PostgreSQL visibility limits (10 Keyword, 3 Datetime, 3 Int per namespace).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CUSTOMER_ID = SearchAttributeKey.for_keyword("OfertaCustomerId")
POLICY = SearchAttributeKey.for_keyword("OfertaPolicy")
SERVICE_STATE = SearchAttributeKey.for_keyword("OfertaServiceState")
NEXT_ACTION = SearchAttributeKey.for_keyword("OfertaNextAction")
NEXT_CLAUSE = SearchAttributeKey.for_keyword("OfertaNextClause")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("OfertaNextDeadline")
OVERDUE_MINOR = SearchAttributeKey.for_int("OfertaOverdueMinorUnits")
# Set while a destructive step is held by the safeguards: notice_not_delivered, mass_action,
# billing_feed_silent (`OfertaHold IS NOT NULL` lists them; `oferta holds` does).
HOLD = SearchAttributeKey.for_keyword("OfertaHold")
# The kinds of operations' overrides in force (extend_grace, no_suspension_before, …):
# `OfertaOverrides IS NOT NULL` lists every service running on one.
OVERRIDES = SearchAttributeKey.for_keyword_list("OfertaOverrides")

ALL = [
    CUSTOMER_ID,
    POLICY,
    SERVICE_STATE,
    NEXT_ACTION,
    NEXT_CLAUSE,
    NEXT_DEADLINE,
    OVERDUE_MINOR,
    HOLD,
    OVERRIDES,
]

# For `temporal server start-dev --search-attribute NAME=TYPE`.
CLI_TYPES = {
    CUSTOMER_ID.name: "Keyword",
    POLICY.name: "Keyword",
    SERVICE_STATE.name: "Keyword",
    NEXT_ACTION.name: "Keyword",
    NEXT_CLAUSE.name: "Keyword",
    NEXT_DEADLINE.name: "Datetime",
    OVERDUE_MINOR.name: "Int",
    HOLD.name: "Keyword",
    OVERRIDES.name: "KeywordList",
}
