"""Job records and their timeline: the state machine, evaluated lazily from the emulated clock.

One run of a flow is one flow job per page generator (source), as on integrator.io. Each flow job is
planned when it is created: it starts ``queue_lag`` after its creation, or when the previous job of the
same flow and source ends (those never overlap); its export step lasts ``export_seconds`` and emits
its pages evenly, the last one a little before the export ends; its page processors start with the
first page (page streaming) and end ``import_seconds`` after the export. The flow job then finishes
its bookkeeping for ``finalize`` seconds: ``endedAt`` is when its last step ended, ``lastExecutedAt``
when it turned terminal (later, as in 142 of 160 real records). Reading a job computes its state for
"now", so no background thread is needed and the outcome does not depend on when anyone looks.

    queued --cancel--> canceled
      | (queue lag; previous job of the flow and source has ended)
    running --cancel--> canceling --(cancel delay)--> canceled
      |
    completed (numError may be > 0) | failed (export step failed)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .scenarios import Scenario

__all__ = ["ACTIVE", "RETENTION_SECONDS", "TERMINAL", "FlowRun", "Resolution", "RetryRun", "Step", "StepError"]

TERMINAL = frozenset({"completed", "failed", "canceled"})
ACTIVE = frozenset({"running", "canceling"})
RETENTION_SECONDS = 30 * 86400.0
RETRY_SECONDS = 1.0


@dataclass
class Step:
    """One child job of a flow job: its page generator (``source``) or a page processor."""

    kind: str  # "export" or "import"
    resource_id: str
    o_index: int
    job_id: str
    source: bool = False


@dataclass
class StepError:
    """An error record that a run leaves on one of its steps."""

    error_id: str
    retry_data_key: str
    step_id: str
    o_index: int
    on_source: bool
    source: str
    classification: str
    code: str
    message: str
    flow_job_id: str
    trace_key: str


@dataclass
class Resolution:
    """When and by whom a flow step error was resolved (``auto`` for a successful retry)."""

    resolved_at: float
    resolved_by: str


@dataclass
class FlowRun:
    """A ``type: flow`` job (one source of one run) and its planned timeline (emulated epoch seconds)."""

    id: str
    account: str
    flow_id: str
    integration_id: str | None
    export_id: str | None
    steps: list[Step]
    connections: tuple[str, ...]
    scenario: Scenario
    created: float
    seq: int
    body: object = None
    run_id: str = ""
    queue_lag: float = 0.0
    finalize: float = 0.0
    start: float | None = None
    cancel_at: float | None = None
    cancel_done: float | None = None
    canceled_queued: bool = False
    canceled_by: str | None = None
    errors: list[StepError] = field(default_factory=list)

    @property
    def export_end(self) -> float:
        """Return when the export step ends (only meaningful once ``start`` is set)."""
        return (self.start or self.created) + self.scenario.export_seconds

    @property
    def has_source(self) -> bool:
        """Return True when the job has a page generator step."""
        return bool(self.steps) and self.steps[0].source

    @property
    def has_processors(self) -> bool:
        """Return True when the run has page processor steps that will run (the export yields pages)."""
        processors = len(self.steps) > 1 or (bool(self.steps) and not self.has_source)
        return processors and not self.scenario.fail and (self.scenario.pages > 0 or not self.has_source)

    @property
    def first_page_at(self) -> float:
        """Return when the export's first page is ready: the processors start then (page streaming)."""
        begin = self.start or self.created
        if not self.has_source:
            return begin
        return begin + self.scenario.export_seconds / (self.scenario.pages + 1)

    @property
    def natural_end(self) -> float:
        """Return when the run's last step would end without a cancel."""
        return self.export_end + (self.scenario.import_seconds if self.has_processors else 0.0)

    def end(self) -> float | None:
        """Return when the job's work ends (or ended: ``endedAt``), or None while it is not scheduled."""
        if self.canceled_queued:
            return self.cancel_at
        if self.start is None:
            return None
        if self.cancel_done is not None:
            return self.cancel_done
        return self.natural_end

    def closed_at(self) -> float | None:
        """Return when the job turns terminal (``lastExecutedAt`` then), or None while it is not scheduled."""
        end = self.end()
        if end is None or self.canceled_queued or self.cancel_done is not None:
            return end
        return end + self.finalize

    def status_at(self, moment: float) -> str:
        """Return the job status at ``moment``."""
        if self.canceled_queued:
            return "canceled"
        if self.start is None or moment < self.start:
            return "queued"
        if self.cancel_done is not None:
            return "canceling" if moment < self.cancel_done else "canceled"
        if moment < self.natural_end + self.finalize:
            return "running"
        return "failed" if self.scenario.fail else "completed"

    def progress_time(self, moment: float) -> float:
        """Return the latest moment whose work counts: ``moment`` capped by cancel and natural end."""
        limit = self.natural_end if self.cancel_at is None else min(self.cancel_at, self.natural_end)
        return min(moment, limit)

    def step_begin(self, step: Step) -> float:
        """Return when the child job of ``step`` starts."""
        return (self.start or self.created) if step.source else self.first_page_at

    def step_end(self, step: Step) -> float:
        """Return when ``step`` would end without a cancel."""
        return self.export_end if step.source else self.natural_end

    def step_started(self, step: Step, moment: float) -> bool:
        """Return True when the child job for ``step`` exists at ``moment``."""
        if self.start is None or self.canceled_queued or moment < self.start:
            return False
        if step.source:
            return True
        begin = self.first_page_at
        if not self.has_processors or moment < begin:
            return False
        return self.cancel_at is None or self.cancel_at >= begin

    def error_time(self, error: StepError) -> float:
        """Return when ``error`` occurs: at the end of its step."""
        return self.export_end if error.on_source else self.natural_end

    def error_visible(self, error: StepError, moment: float) -> bool:
        """Return True when ``error`` has occurred by ``moment`` (and the run was not canceled first)."""
        if self.canceled_queued or self.start is None:
            return False
        occurred = self.error_time(error)
        if occurred > moment:
            return False
        return self.cancel_at is None or self.cancel_at >= occurred


@dataclass
class RetryRun:
    """A ``type: retry`` job created by ``POST /flows/{id}/{step}/retry``."""

    id: str
    account: str
    flow_id: str
    integration_id: str | None
    step_id: str
    step_kind: str
    flow_job_id: str | None
    error_ids: list[str]
    created: float
    seq: int
    triggered_by: str
    duration: float = RETRY_SECONDS
    cancel_at: float | None = None
    cancel_done: float | None = None
    canceled_by: str | None = None

    @property
    def start(self) -> float:
        """Return when the retry started (at once)."""
        return self.created

    def end(self) -> float:
        """Return when the retry ends (or ended)."""
        return self.cancel_done if self.cancel_done is not None else self.created + self.duration

    def status_at(self, moment: float) -> str:
        """Return the job status at ``moment``."""
        if self.cancel_done is not None:
            return "canceling" if moment < self.cancel_done else "canceled"
        return "running" if moment < self.created + self.duration else "completed"
