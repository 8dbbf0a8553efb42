from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    SUPERSEDED: _ClassVar[ErrorReason]
    NONDETERMINISTIC_REPLAY: _ClassVar[ErrorReason]
    BAD_SEQ: _ClassVar[ErrorReason]
    NOT_FOUND: _ClassVar[ErrorReason]
    JOB_FINISHED: _ClassVar[ErrorReason]
    INVALID: _ClassVar[ErrorReason]
    NO_LEADER: _ClassVar[ErrorReason]
    BAD_STATE: _ClassVar[ErrorReason]
    LIMIT_EXCEEDED: _ClassVar[ErrorReason]
    QUOTA_EXCEEDED: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
SUPERSEDED: ErrorReason
NONDETERMINISTIC_REPLAY: ErrorReason
BAD_SEQ: ErrorReason
NOT_FOUND: ErrorReason
JOB_FINISHED: ErrorReason
INVALID: ErrorReason
NO_LEADER: ErrorReason
BAD_STATE: ErrorReason
LIMIT_EXCEEDED: ErrorReason
QUOTA_EXCEEDED: ErrorReason

class TaskRef(_message.Message):
    __slots__ = ("job_id", "task_id", "epoch", "claim")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    task_id: int
    epoch: int
    claim: str
    def __init__(self, job_id: _Optional[int] = ..., task_id: _Optional[int] = ..., epoch: _Optional[int] = ..., claim: _Optional[str] = ...) -> None: ...

class Value(_message.Message):
    __slots__ = ("inline", "key")
    INLINE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    inline: bytes
    key: str
    def __init__(self, inline: _Optional[bytes] = ..., key: _Optional[str] = ...) -> None: ...

class FutureResult(_message.Message):
    __slots__ = ("task_id", "failed", "value", "error")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    task_id: int
    failed: bool
    value: Value
    error: str
    def __init__(self, task_id: _Optional[int] = ..., failed: _Optional[bool] = ..., value: _Optional[_Union[Value, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class ClaimRequest(_message.Message):
    __slots__ = ("job_id", "task_id", "epoch", "invocation_id", "claim", "deferred")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    DEFERRED_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    task_id: int
    epoch: int
    invocation_id: str
    claim: str
    deferred: bool
    def __init__(self, job_id: _Optional[int] = ..., task_id: _Optional[int] = ..., epoch: _Optional[int] = ..., invocation_id: _Optional[str] = ..., claim: _Optional[str] = ..., deferred: _Optional[bool] = ...) -> None: ...

class ClaimResponse(_message.Message):
    __slots__ = ("seq", "checkpoint_key", "last_response", "start", "awaited", "program_hash", "event_json", "root", "parent_id", "name", "cluster_key", "cluster_id", "attempt", "external", "on_coordinator", "checkpoint_seq", "key_id", "job_keys", "limits", "deferred")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_KEY_FIELD_NUMBER: _ClassVar[int]
    LAST_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    AWAITED_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_HASH_FIELD_NUMBER: _ClassVar[int]
    EVENT_JSON_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_KEY_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_FIELD_NUMBER: _ClassVar[int]
    ON_COORDINATOR_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SEQ_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_KEYS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    DEFERRED_FIELD_NUMBER: _ClassVar[int]
    seq: int
    checkpoint_key: str
    last_response: CallResponse
    start: Value
    awaited: _containers.RepeatedCompositeFieldContainer[FutureResult]
    program_hash: str
    event_json: bytes
    root: bool
    parent_id: int
    name: str
    cluster_key: bytes
    cluster_id: str
    attempt: int
    external: bool
    on_coordinator: bool
    checkpoint_seq: int
    key_id: str
    job_keys: _containers.RepeatedCompositeFieldContainer[JobKey]
    limits: Limits
    deferred: bool
    def __init__(self, seq: _Optional[int] = ..., checkpoint_key: _Optional[str] = ..., last_response: _Optional[_Union[CallResponse, _Mapping]] = ..., start: _Optional[_Union[Value, _Mapping]] = ..., awaited: _Optional[_Iterable[_Union[FutureResult, _Mapping]]] = ..., program_hash: _Optional[str] = ..., event_json: _Optional[bytes] = ..., root: _Optional[bool] = ..., parent_id: _Optional[int] = ..., name: _Optional[str] = ..., cluster_key: _Optional[bytes] = ..., cluster_id: _Optional[str] = ..., attempt: _Optional[int] = ..., external: _Optional[bool] = ..., on_coordinator: _Optional[bool] = ..., checkpoint_seq: _Optional[int] = ..., key_id: _Optional[str] = ..., job_keys: _Optional[_Iterable[_Union[JobKey, _Mapping]]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., deferred: _Optional[bool] = ...) -> None: ...

class JobKey(_message.Message):
    __slots__ = ("id", "key")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    key: bytes
    def __init__(self, id: _Optional[str] = ..., key: _Optional[bytes] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("inline_value_bytes", "call_inline_bytes", "inline_result_bytes", "result_bytes")
    INLINE_VALUE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CALL_INLINE_BYTES_FIELD_NUMBER: _ClassVar[int]
    INLINE_RESULT_BYTES_FIELD_NUMBER: _ClassVar[int]
    RESULT_BYTES_FIELD_NUMBER: _ClassVar[int]
    inline_value_bytes: int
    call_inline_bytes: int
    inline_result_bytes: int
    result_bytes: int
    def __init__(self, inline_value_bytes: _Optional[int] = ..., call_inline_bytes: _Optional[int] = ..., inline_result_bytes: _Optional[int] = ..., result_bytes: _Optional[int] = ...) -> None: ...

class CallRequest(_message.Message):
    __slots__ = ("ref", "seq", "checkpoint_key", "checkpoint_size", "claim_invocation", "spawn", "wait", "checkpoint", "exit", "fail", "create_queues", "enqueue", "dequeue")
    REF_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_KEY_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SIZE_FIELD_NUMBER: _ClassVar[int]
    CLAIM_INVOCATION_FIELD_NUMBER: _ClassVar[int]
    SPAWN_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    YIELD_FIELD_NUMBER: _ClassVar[int]
    EXIT_FIELD_NUMBER: _ClassVar[int]
    FAIL_FIELD_NUMBER: _ClassVar[int]
    CREATE_QUEUES_FIELD_NUMBER: _ClassVar[int]
    ENQUEUE_FIELD_NUMBER: _ClassVar[int]
    DEQUEUE_FIELD_NUMBER: _ClassVar[int]
    ref: TaskRef
    seq: int
    checkpoint_key: str
    checkpoint_size: int
    claim_invocation: str
    spawn: SpawnOp
    wait: WaitOp
    checkpoint: CheckpointOp
    exit: ExitOp
    fail: FailOp
    create_queues: CreateQueuesOp
    enqueue: EnqueueOp
    dequeue: DequeueOp
    def __init__(self, ref: _Optional[_Union[TaskRef, _Mapping]] = ..., seq: _Optional[int] = ..., checkpoint_key: _Optional[str] = ..., checkpoint_size: _Optional[int] = ..., claim_invocation: _Optional[str] = ..., spawn: _Optional[_Union[SpawnOp, _Mapping]] = ..., wait: _Optional[_Union[WaitOp, _Mapping]] = ..., checkpoint: _Optional[_Union[CheckpointOp, _Mapping]] = ..., exit: _Optional[_Union[ExitOp, _Mapping]] = ..., fail: _Optional[_Union[FailOp, _Mapping]] = ..., create_queues: _Optional[_Union[CreateQueuesOp, _Mapping]] = ..., enqueue: _Optional[_Union[EnqueueOp, _Mapping]] = ..., dequeue: _Optional[_Union[DequeueOp, _Mapping]] = ..., **kwargs) -> None: ...

class CreateQueuesOp(_message.Message):
    __slots__ = ("max_size", "count")
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    max_size: int
    count: int
    def __init__(self, max_size: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class EnqueueOp(_message.Message):
    __slots__ = ("queue_id", "items")
    QUEUE_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    queue_id: int
    items: _containers.RepeatedCompositeFieldContainer[Value]
    def __init__(self, queue_id: _Optional[int] = ..., items: _Optional[_Iterable[_Union[Value, _Mapping]]] = ...) -> None: ...

class DequeueOp(_message.Message):
    __slots__ = ("queue_id",)
    QUEUE_ID_FIELD_NUMBER: _ClassVar[int]
    queue_id: int
    def __init__(self, queue_id: _Optional[int] = ...) -> None: ...

class SpawnOp(_message.Message):
    __slots__ = ("children",)
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    children: _containers.RepeatedCompositeFieldContainer[ChildSpec]
    def __init__(self, children: _Optional[_Iterable[_Union[ChildSpec, _Mapping]]] = ...) -> None: ...

class ChildSpec(_message.Message):
    __slots__ = ("start", "awaits", "name", "external", "on_coordinator")
    START_FIELD_NUMBER: _ClassVar[int]
    AWAITS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_FIELD_NUMBER: _ClassVar[int]
    ON_COORDINATOR_FIELD_NUMBER: _ClassVar[int]
    start: Value
    awaits: _containers.RepeatedScalarFieldContainer[int]
    name: str
    external: bool
    on_coordinator: bool
    def __init__(self, start: _Optional[_Union[Value, _Mapping]] = ..., awaits: _Optional[_Iterable[int]] = ..., name: _Optional[str] = ..., external: _Optional[bool] = ..., on_coordinator: _Optional[bool] = ...) -> None: ...

class WaitOp(_message.Message):
    __slots__ = ("futures",)
    FUTURES_FIELD_NUMBER: _ClassVar[int]
    futures: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, futures: _Optional[_Iterable[int]] = ...) -> None: ...

class CheckpointOp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class YieldOp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExitOp(_message.Message):
    __slots__ = ("result", "result_json", "result_json_key", "result_json_bytes")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_KEY_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_BYTES_FIELD_NUMBER: _ClassVar[int]
    result: Value
    result_json: str
    result_json_key: str
    result_json_bytes: int
    def __init__(self, result: _Optional[_Union[Value, _Mapping]] = ..., result_json: _Optional[str] = ..., result_json_key: _Optional[str] = ..., result_json_bytes: _Optional[int] = ...) -> None: ...

class FailOp(_message.Message):
    __slots__ = ("error",)
    ERROR_FIELD_NUMBER: _ClassVar[int]
    error: str
    def __init__(self, error: _Optional[str] = ...) -> None: ...

class CallResponse(_message.Message):
    __slots__ = ("ack", "spawned", "resolved", "blocked", "queues_created", "dequeued", "refused")
    ACK_FIELD_NUMBER: _ClassVar[int]
    SPAWNED_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    QUEUES_CREATED_FIELD_NUMBER: _ClassVar[int]
    DEQUEUED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    ack: Ack
    spawned: Spawned
    resolved: Resolved
    blocked: Blocked
    queues_created: QueuesCreated
    dequeued: Dequeued
    refused: Refused
    def __init__(self, ack: _Optional[_Union[Ack, _Mapping]] = ..., spawned: _Optional[_Union[Spawned, _Mapping]] = ..., resolved: _Optional[_Union[Resolved, _Mapping]] = ..., blocked: _Optional[_Union[Blocked, _Mapping]] = ..., queues_created: _Optional[_Union[QueuesCreated, _Mapping]] = ..., dequeued: _Optional[_Union[Dequeued, _Mapping]] = ..., refused: _Optional[_Union[Refused, _Mapping]] = ...) -> None: ...

class Refused(_message.Message):
    __slots__ = ("reason", "message")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    reason: ErrorReason
    message: str
    def __init__(self, reason: _Optional[_Union[ErrorReason, str]] = ..., message: _Optional[str] = ...) -> None: ...

class QueuesCreated(_message.Message):
    __slots__ = ("queue_ids",)
    QUEUE_IDS_FIELD_NUMBER: _ClassVar[int]
    queue_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, queue_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class Dequeued(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: Value
    def __init__(self, item: _Optional[_Union[Value, _Mapping]] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Spawned(_message.Message):
    __slots__ = ("task_ids",)
    TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    task_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, task_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class Resolved(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[FutureResult]
    def __init__(self, results: _Optional[_Iterable[_Union[FutureResult, _Mapping]]] = ...) -> None: ...

class Blocked(_message.Message):
    __slots__ = ("not_running",)
    NOT_RUNNING_FIELD_NUMBER: _ClassVar[int]
    not_running: int
    def __init__(self, not_running: _Optional[int] = ...) -> None: ...

class PollRequest(_message.Message):
    __slots__ = ("ref", "seq")
    REF_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ref: TaskRef
    seq: int
    def __init__(self, ref: _Optional[_Union[TaskRef, _Mapping]] = ..., seq: _Optional[int] = ...) -> None: ...

class PollResponse(_message.Message):
    __slots__ = ("ready", "response")
    READY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ready: bool
    response: CallResponse
    def __init__(self, ready: _Optional[bool] = ..., response: _Optional[_Union[CallResponse, _Mapping]] = ...) -> None: ...

class ParkRequest(_message.Message):
    __slots__ = ("ref", "seq")
    REF_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ref: TaskRef
    seq: int
    def __init__(self, ref: _Optional[_Union[TaskRef, _Mapping]] = ..., seq: _Optional[int] = ...) -> None: ...

class ParkResponse(_message.Message):
    __slots__ = ("parked", "response")
    PARKED_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    parked: bool
    response: CallResponse
    def __init__(self, parked: _Optional[bool] = ..., response: _Optional[_Union[CallResponse, _Mapping]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: TaskRef
    def __init__(self, ref: _Optional[_Union[TaskRef, _Mapping]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("yield_now",)
    YIELD_NOW_FIELD_NUMBER: _ClassVar[int]
    yield_now: bool
    def __init__(self, yield_now: _Optional[bool] = ...) -> None: ...
