"""Settings from the environment (and a ``.env`` file), with embedded defaults.

The defaults run everything on one laptop: SQLite in ``./data``, a local
Temporal dev server, a local SMTP sink. Production sets the variables below.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    # An empty variable means "not set" (compose passes ${SMTP_USERNAME:-} as ""; an empty
    # SMTP login would make the client try to authenticate).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    data_dir: Path = Field(default=PROJECT_ROOT / "data", alias="OFERTA_DATA_DIR")
    database_url: str = Field(default="", alias="DATABASE_URL")

    temporal_address: str = Field(default="localhost:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    temporal_ui_port: int = Field(default=8233, alias="TEMPORAL_UI_PORT")
    task_queue: str = Field(default="oferta", alias="OFERTA_TASK_QUEUE")

    api_host: str = Field(default="127.0.0.1", alias="OFERTA_API_HOST")
    api_port: int = Field(default=8000, alias="OFERTA_API_PORT")
    bootstrap_api_key: str | None = Field(default=None, alias="OFERTA_BOOTSTRAP_API_KEY")

    smtp_host: str = Field(default="127.0.0.1", alias="SMTP_HOST")
    smtp_port: int = Field(default=8025, alias="SMTP_PORT")
    smtp_username: str | None = Field(default=None, alias="SMTP_USERNAME")
    smtp_password: str | None = Field(default=None, alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(default=False, alias="SMTP_STARTTLS")
    smtp_tls: bool = Field(default=False, alias="SMTP_TLS")
    mail_from: str = Field(default="noreply@oferta.local", alias="OFERTA_MAIL_FROM")

    twilio_account_sid: str = Field(default="AC00000000000000000000000000000000", alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str = Field(default="local", alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str = Field(default="+10000000000", alias="TWILIO_FROM_NUMBER")
    twilio_base_url: str | None = Field(default=None, alias="TWILIO_BASE_URL")
    # ./run's local SMS sink (a Twilio-compatible endpoint) when no real Twilio account is set.
    sms_sink_port: int = Field(default=8026, alias="OFERTA_SMS_SINK_PORT")
    # Where Twilio posts delivery statuses (this API's /v1/twilio/status, as the internet sees it).
    twilio_status_callback_url: str | None = Field(default=None, alias="TWILIO_STATUS_CALLBACK_URL")

    inbox_enabled: bool = Field(default=True, alias="OFERTA_INBOX")

    provisioning_url: str | None = Field(default=None, alias="OFERTA_PROVISIONING_URL")
    worker_metrics_port: int = Field(default=9464, alias="OFERTA_WORKER_METRICS_PORT")
    # Service workflows the worker keeps in memory between their steps (the SDK's sticky cache).
    # An evicted service replays its current run (a handful of events) at its next step;
    # bench/RESULTS.md "Worker memory" measures the memory a cached one costs.
    worker_max_cached_workflows: int = Field(default=5000, ge=0, alias="OFERTA_WORKER_MAX_CACHED_WORKFLOWS")
    log_json: bool = Field(default=False, alias="OFERTA_LOG_JSON")
    # The guard's breaker (oferta/timeline/safeguards.py): a policy's suspensions, deletions and
    # terminations are held when more than this share of its open services (and at least
    # OFERTA_GUARD_MIN_STEPS) fall within the window, or billing has been silent too long.
    guard_window_minutes: int = Field(default=60, ge=1, alias="OFERTA_GUARD_WINDOW_MINUTES")
    guard_max_share: Decimal = Field(default=Decimal("0.10"), gt=0, le=1, alias="OFERTA_GUARD_MAX_SHARE")
    guard_min_steps: int = Field(default=10, ge=1, alias="OFERTA_GUARD_MIN_STEPS")
    # 0 turns the billing-feed heartbeat off.
    guard_feed_silence_hours: int = Field(default=24, ge=0, alias="OFERTA_GUARD_FEED_SILENCE_HOURS")
    # `oferta run` restarts a child that dies, with backoff; more than this many restarts
    # of one child within the window (seconds) means it cannot stay up: stop everything.
    restart_limit: int = Field(default=5, ge=0, alias="OFERTA_RESTART_LIMIT")
    restart_window: float = Field(default=300.0, gt=0, alias="OFERTA_RESTART_WINDOW")

    # Signed outbound webhooks (oferta/webhooks.py): how often the dispatcher looks for due
    # deliveries, the backoff between attempts (doubling up to the cap), and how long an event
    # may keep failing before its endpoint is disabled. Tests shorten all of them.
    webhooks_poll_seconds: float = Field(default=5.0, gt=0, alias="OFERTA_WEBHOOKS_POLL_SECONDS")
    # How long one dispatcher activity keeps polling while nothing is due (a few history events).
    webhooks_wait_seconds: float = Field(default=60.0, gt=0, alias="OFERTA_WEBHOOKS_WAIT_SECONDS")
    webhooks_backoff_seconds: float = Field(default=30.0, gt=0, alias="OFERTA_WEBHOOKS_BACKOFF_SECONDS")
    webhooks_max_backoff_seconds: float = Field(
        default=3600.0, gt=0, alias="OFERTA_WEBHOOKS_MAX_BACKOFF_SECONDS"
    )
    webhooks_give_up_seconds: float = Field(default=86400.0, gt=0, alias="OFERTA_WEBHOOKS_GIVE_UP_SECONDS")
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0, alias="OFERTA_WEBHOOKS_TIMEOUT_SECONDS")
    # Loopback and private-range targets are refused (an API key must not reach the internal
    # network through Oferta) unless this is set: local development and the tests.
    webhooks_allow_private: bool = Field(default=False, alias="OFERTA_WEBHOOKS_ALLOW_PRIVATE")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'oferta.db'}"


@cache
def get_settings() -> Settings:
    return Settings()
