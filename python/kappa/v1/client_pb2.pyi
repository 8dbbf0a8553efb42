from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_RUNNING: _ClassVar[JobState]
    JOB_SUCCEEDED: _ClassVar[JobState]
    JOB_FAILED: _ClassVar[JobState]
JOB_STATE_UNSPECIFIED: JobState
JOB_RUNNING: JobState
JOB_SUCCEEDED: JobState
JOB_FAILED: JobState

class SubmitJobRequest(_message.Message):
    __slots__ = ("client_id", "request_id", "program_bundle", "event_json", "name", "max_launches", "priority", "program_hash")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    EVENT_JSON_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_LAUNCHES_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_HASH_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    request_id: int
    program_bundle: bytes
    event_json: bytes
    name: str
    max_launches: int
    priority: int
    program_hash: str
    def __init__(self, client_id: _Optional[str] = ..., request_id: _Optional[int] = ..., program_bundle: _Optional[bytes] = ..., event_json: _Optional[bytes] = ..., name: _Optional[str] = ..., max_launches: _Optional[int] = ..., priority: _Optional[int] = ..., program_hash: _Optional[str] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job_id", "program_hash")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_HASH_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    program_hash: str
    def __init__(self, job_id: _Optional[int] = ..., program_hash: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    def __init__(self, job_id: _Optional[int] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id", "stale", "tasks")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    stale: bool
    tasks: bool
    def __init__(self, job_id: _Optional[int] = ..., stale: _Optional[bool] = ..., tasks: _Optional[bool] = ...) -> None: ...

class JobStatus(_message.Message):
    __slots__ = ("job_id", "name", "state", "program_hash", "tasks_total", "tasks_pending", "tasks_runnable", "tasks_running", "tasks_blocked", "tasks_done", "tasks_failed", "launches", "checkpoints", "checkpoint_bytes", "rpcs", "yields", "relaunches", "max_epoch", "result_json", "error", "submitted_unix_ms", "finished_unix_ms", "started_unix_ms", "retries", "archived", "tasks", "owner", "priority", "result_bytes", "result_stored")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_HASH_FIELD_NUMBER: _ClassVar[int]
    TASKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    TASKS_PENDING_FIELD_NUMBER: _ClassVar[int]
    TASKS_RUNNABLE_FIELD_NUMBER: _ClassVar[int]
    TASKS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    TASKS_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    TASKS_DONE_FIELD_NUMBER: _ClassVar[int]
    TASKS_FAILED_FIELD_NUMBER: _ClassVar[int]
    LAUNCHES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_BYTES_FIELD_NUMBER: _ClassVar[int]
    RPCS_FIELD_NUMBER: _ClassVar[int]
    YIELDS_FIELD_NUMBER: _ClassVar[int]
    RELAUNCHES_FIELD_NUMBER: _ClassVar[int]
    MAX_EPOCH_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    STARTED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RESULT_BYTES_FIELD_NUMBER: _ClassVar[int]
    RESULT_STORED_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    name: str
    state: JobState
    program_hash: str
    tasks_total: int
    tasks_pending: int
    tasks_runnable: int
    tasks_running: int
    tasks_blocked: int
    tasks_done: int
    tasks_failed: int
    launches: int
    checkpoints: int
    checkpoint_bytes: int
    rpcs: int
    yields: int
    relaunches: int
    max_epoch: int
    result_json: str
    error: str
    submitted_unix_ms: int
    finished_unix_ms: int
    started_unix_ms: int
    retries: int
    archived: bool
    tasks: _containers.RepeatedCompositeFieldContainer[TaskStatus]
    owner: str
    priority: int
    result_bytes: int
    result_stored: bool
    def __init__(self, job_id: _Optional[int] = ..., name: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., program_hash: _Optional[str] = ..., tasks_total: _Optional[int] = ..., tasks_pending: _Optional[int] = ..., tasks_runnable: _Optional[int] = ..., tasks_running: _Optional[int] = ..., tasks_blocked: _Optional[int] = ..., tasks_done: _Optional[int] = ..., tasks_failed: _Optional[int] = ..., launches: _Optional[int] = ..., checkpoints: _Optional[int] = ..., checkpoint_bytes: _Optional[int] = ..., rpcs: _Optional[int] = ..., yields: _Optional[int] = ..., relaunches: _Optional[int] = ..., max_epoch: _Optional[int] = ..., result_json: _Optional[str] = ..., error: _Optional[str] = ..., submitted_unix_ms: _Optional[int] = ..., finished_unix_ms: _Optional[int] = ..., started_unix_ms: _Optional[int] = ..., retries: _Optional[int] = ..., archived: _Optional[bool] = ..., tasks: _Optional[_Iterable[_Union[TaskStatus, _Mapping]]] = ..., owner: _Optional[str] = ..., priority: _Optional[int] = ..., result_bytes: _Optional[int] = ..., result_stored: _Optional[bool] = ...) -> None: ...

class TaskStatus(_message.Message):
    __slots__ = ("task_id", "parent_id", "name", "state", "epoch", "launches", "checkpoints", "last_checkpoint_unix_ms", "first_launch_unix_ms", "finished_unix_ms", "error")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    LAUNCHES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    LAST_CHECKPOINT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_LAUNCH_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    task_id: int
    parent_id: int
    name: str
    state: str
    epoch: int
    launches: int
    checkpoints: int
    last_checkpoint_unix_ms: int
    first_launch_unix_ms: int
    finished_unix_ms: int
    error: str
    def __init__(self, task_id: _Optional[int] = ..., parent_id: _Optional[int] = ..., name: _Optional[str] = ..., state: _Optional[str] = ..., epoch: _Optional[int] = ..., launches: _Optional[int] = ..., checkpoints: _Optional[int] = ..., last_checkpoint_unix_ms: _Optional[int] = ..., first_launch_unix_ms: _Optional[int] = ..., finished_unix_ms: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class JobEventsRequest(_message.Message):
    __slots__ = ("job_id", "after_seq", "follow")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    after_seq: int
    follow: bool
    def __init__(self, job_id: _Optional[int] = ..., after_seq: _Optional[int] = ..., follow: _Optional[bool] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("seq", "at_unix_ms", "kind", "task_id", "epoch", "reason", "detail", "count")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    seq: int
    at_unix_ms: int
    kind: str
    task_id: int
    epoch: int
    reason: str
    detail: str
    count: int
    def __init__(self, seq: _Optional[int] = ..., at_unix_ms: _Optional[int] = ..., kind: _Optional[str] = ..., task_id: _Optional[int] = ..., epoch: _Optional[int] = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class JobEventsResponse(_message.Message):
    __slots__ = ("events", "dropped", "partial", "state", "archived")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[JobEvent]
    dropped: int
    partial: bool
    state: JobState
    archived: bool
    def __init__(self, events: _Optional[_Iterable[_Union[JobEvent, _Mapping]]] = ..., dropped: _Optional[int] = ..., partial: _Optional[bool] = ..., state: _Optional[_Union[JobState, str]] = ..., archived: _Optional[bool] = ...) -> None: ...

class JobArchive(_message.Message):
    __slots__ = ("cluster_id", "archived_unix_ms", "job", "events", "events_dropped", "events_partial")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    archived_unix_ms: int
    job: JobStatus
    events: _containers.RepeatedCompositeFieldContainer[JobEvent]
    events_dropped: int
    events_partial: bool
    def __init__(self, cluster_id: _Optional[str] = ..., archived_unix_ms: _Optional[int] = ..., job: _Optional[_Union[JobStatus, _Mapping]] = ..., events: _Optional[_Iterable[_Union[JobEvent, _Mapping]]] = ..., events_dropped: _Optional[int] = ..., events_partial: _Optional[bool] = ...) -> None: ...

class RetryJobRequest(_message.Message):
    __slots__ = ("client_id", "request_id", "job_id", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    request_id: int
    job_id: int
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., request_id: _Optional[int] = ..., job_id: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class RetryJobResponse(_message.Message):
    __slots__ = ("task_ids",)
    TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    task_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, task_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class JobResultRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    def __init__(self, job_id: _Optional[int] = ...) -> None: ...

class JobResultChunk(_message.Message):
    __slots__ = ("data", "total")
    DATA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    total: int
    def __init__(self, data: _Optional[bytes] = ..., total: _Optional[int] = ...) -> None: ...

class ClusterStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClusterStatusResponse(_message.Message):
    __slots__ = ("node_id", "leader_id", "leader_api_addr", "raft_state", "term", "applied_index", "commit_index", "state_hash", "jobs", "tasks", "cluster_id", "api_addr", "last_contact_ms", "raft_applied_index", "version", "cluster_command_version", "insecure", "disk_full", "disk_message", "key_id", "keys", "key_error", "last_log_index", "store", "per_node_store")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    LEADER_API_ADDR_FIELD_NUMBER: _ClassVar[int]
    RAFT_STATE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    API_ADDR_FIELD_NUMBER: _ClassVar[int]
    LAST_CONTACT_MS_FIELD_NUMBER: _ClassVar[int]
    RAFT_APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_COMMAND_VERSION_FIELD_NUMBER: _ClassVar[int]
    INSECURE_FIELD_NUMBER: _ClassVar[int]
    DISK_FULL_FIELD_NUMBER: _ClassVar[int]
    DISK_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    KEY_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    PER_NODE_STORE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    leader_id: str
    leader_api_addr: str
    raft_state: str
    term: int
    applied_index: int
    commit_index: int
    state_hash: str
    jobs: int
    tasks: int
    cluster_id: str
    api_addr: str
    last_contact_ms: int
    raft_applied_index: int
    version: VersionInfo
    cluster_command_version: int
    insecure: bool
    disk_full: bool
    disk_message: str
    key_id: str
    keys: _containers.RepeatedCompositeFieldContainer[KeyFingerprint]
    key_error: str
    last_log_index: int
    store: str
    per_node_store: bool
    def __init__(self, node_id: _Optional[str] = ..., leader_id: _Optional[str] = ..., leader_api_addr: _Optional[str] = ..., raft_state: _Optional[str] = ..., term: _Optional[int] = ..., applied_index: _Optional[int] = ..., commit_index: _Optional[int] = ..., state_hash: _Optional[str] = ..., jobs: _Optional[int] = ..., tasks: _Optional[int] = ..., cluster_id: _Optional[str] = ..., api_addr: _Optional[str] = ..., last_contact_ms: _Optional[int] = ..., raft_applied_index: _Optional[int] = ..., version: _Optional[_Union[VersionInfo, _Mapping]] = ..., cluster_command_version: _Optional[int] = ..., insecure: _Optional[bool] = ..., disk_full: _Optional[bool] = ..., disk_message: _Optional[str] = ..., key_id: _Optional[str] = ..., keys: _Optional[_Iterable[_Union[KeyFingerprint, _Mapping]]] = ..., key_error: _Optional[str] = ..., last_log_index: _Optional[int] = ..., store: _Optional[str] = ..., per_node_store: _Optional[bool] = ...) -> None: ...

class KeyFingerprint(_message.Message):
    __slots__ = ("id", "fingerprint")
    ID_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    id: str
    fingerprint: str
    def __init__(self, id: _Optional[str] = ..., fingerprint: _Optional[str] = ...) -> None: ...

class VersionInfo(_message.Message):
    __slots__ = ("version", "commit", "command_version", "snapshot_version", "wire_version")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    COMMAND_VERSION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_VERSION_FIELD_NUMBER: _ClassVar[int]
    WIRE_VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    commit: str
    command_version: int
    snapshot_version: int
    wire_version: int
    def __init__(self, version: _Optional[str] = ..., commit: _Optional[str] = ..., command_version: _Optional[int] = ..., snapshot_version: _Optional[int] = ..., wire_version: _Optional[int] = ...) -> None: ...

class AuditJobRequest(_message.Message):
    __slots__ = ("job_id", "stale")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    stale: bool
    def __init__(self, job_id: _Optional[int] = ..., stale: _Optional[bool] = ...) -> None: ...

class AppliedCall(_message.Message):
    __slots__ = ("seq", "digest", "log_index")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    seq: int
    digest: bytes
    log_index: int
    def __init__(self, seq: _Optional[int] = ..., digest: _Optional[bytes] = ..., log_index: _Optional[int] = ...) -> None: ...

class TaskAudit(_message.Message):
    __slots__ = ("task_id", "seq", "applied_calls", "records", "epoch", "state")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    APPLIED_CALLS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    task_id: int
    seq: int
    applied_calls: int
    records: _containers.RepeatedCompositeFieldContainer[AppliedCall]
    epoch: int
    state: str
    def __init__(self, task_id: _Optional[int] = ..., seq: _Optional[int] = ..., applied_calls: _Optional[int] = ..., records: _Optional[_Iterable[_Union[AppliedCall, _Mapping]]] = ..., epoch: _Optional[int] = ..., state: _Optional[str] = ...) -> None: ...

class AuditJobResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskAudit]
    def __init__(self, tasks: _Optional[_Iterable[_Union[TaskAudit, _Mapping]]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("stale", "archived")
    STALE_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    stale: bool
    archived: bool
    def __init__(self, stale: _Optional[bool] = ..., archived: _Optional[bool] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[JobStatus]
    def __init__(self, jobs: _Optional[_Iterable[_Union[JobStatus, _Mapping]]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("client_id", "request_id", "job_id", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    request_id: int
    job_id: int
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., request_id: _Optional[int] = ..., job_id: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InvocationLogsRequest(_message.Message):
    __slots__ = ("job_id", "task_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    task_id: int
    def __init__(self, job_id: _Optional[int] = ..., task_id: _Optional[int] = ...) -> None: ...

class InvocationLog(_message.Message):
    __slots__ = ("job_id", "task_id", "epoch", "request_id", "invocation_id", "outcome", "message", "started_unix_ms", "duration_ms", "cold_start", "output", "node_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STARTED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    COLD_START_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    task_id: int
    epoch: int
    request_id: str
    invocation_id: str
    outcome: str
    message: str
    started_unix_ms: int
    duration_ms: int
    cold_start: bool
    output: str
    node_id: str
    def __init__(self, job_id: _Optional[int] = ..., task_id: _Optional[int] = ..., epoch: _Optional[int] = ..., request_id: _Optional[str] = ..., invocation_id: _Optional[str] = ..., outcome: _Optional[str] = ..., message: _Optional[str] = ..., started_unix_ms: _Optional[int] = ..., duration_ms: _Optional[int] = ..., cold_start: _Optional[bool] = ..., output: _Optional[str] = ..., node_id: _Optional[str] = ...) -> None: ...

class InvocationLogsResponse(_message.Message):
    __slots__ = ("invocations",)
    INVOCATIONS_FIELD_NUMBER: _ClassVar[int]
    invocations: _containers.RepeatedCompositeFieldContainer[InvocationLog]
    def __init__(self, invocations: _Optional[_Iterable[_Union[InvocationLog, _Mapping]]] = ...) -> None: ...
