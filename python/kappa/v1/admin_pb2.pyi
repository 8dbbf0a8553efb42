from kappa.v1 import client_pb2 as _client_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Fault(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAULT_UNSPECIFIED: _ClassVar[Fault]
    FAULT_STEP_DOWN: _ClassVar[Fault]
    FAULT_EXIT: _ClassVar[Fault]
    FAULT_KILL_INVOCATIONS: _ClassVar[Fault]
    FAULT_PAUSE_LEADER: _ClassVar[Fault]
FAULT_UNSPECIFIED: Fault
FAULT_STEP_DOWN: Fault
FAULT_EXIT: Fault
FAULT_KILL_INVOCATIONS: Fault
FAULT_PAUSE_LEADER: Fault

class RotateKeyRequest(_message.Message):
    __slots__ = ("to_id",)
    TO_ID_FIELD_NUMBER: _ClassVar[int]
    to_id: str
    def __init__(self, to_id: _Optional[str] = ...) -> None: ...

class RotateKeyResponse(_message.Message):
    __slots__ = ("previous_id", "current_id", "checked")
    PREVIOUS_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKED_FIELD_NUMBER: _ClassVar[int]
    previous_id: str
    current_id: str
    checked: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, previous_id: _Optional[str] = ..., current_id: _Optional[str] = ..., checked: _Optional[_Iterable[str]] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ("node_id", "raft_addr", "api_addr", "command_version", "keys")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDR_FIELD_NUMBER: _ClassVar[int]
    API_ADDR_FIELD_NUMBER: _ClassVar[int]
    COMMAND_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    raft_addr: str
    api_addr: str
    command_version: int
    keys: _containers.RepeatedCompositeFieldContainer[_client_pb2.KeyFingerprint]
    def __init__(self, node_id: _Optional[str] = ..., raft_addr: _Optional[str] = ..., api_addr: _Optional[str] = ..., command_version: _Optional[int] = ..., keys: _Optional[_Iterable[_Union[_client_pb2.KeyFingerprint, _Mapping]]] = ...) -> None: ...

class JoinResponse(_message.Message):
    __slots__ = ("leader_id",)
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    leader_id: str
    def __init__(self, leader_id: _Optional[str] = ...) -> None: ...

class RemoveRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class RemoveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TransferLeaderRequest(_message.Message):
    __slots__ = ("to_id",)
    TO_ID_FIELD_NUMBER: _ClassVar[int]
    to_id: str
    def __init__(self, to_id: _Optional[str] = ...) -> None: ...

class TransferLeaderResponse(_message.Message):
    __slots__ = ("leader_id", "to_drained")
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    TO_DRAINED_FIELD_NUMBER: _ClassVar[int]
    leader_id: str
    to_drained: bool
    def __init__(self, leader_id: _Optional[str] = ..., to_drained: _Optional[bool] = ...) -> None: ...

class MembersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Member(_message.Message):
    __slots__ = ("node_id", "raft_addr", "api_addr", "voter", "leader", "drained")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDR_FIELD_NUMBER: _ClassVar[int]
    API_ADDR_FIELD_NUMBER: _ClassVar[int]
    VOTER_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    DRAINED_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    raft_addr: str
    api_addr: str
    voter: bool
    leader: bool
    drained: bool
    def __init__(self, node_id: _Optional[str] = ..., raft_addr: _Optional[str] = ..., api_addr: _Optional[str] = ..., voter: _Optional[bool] = ..., leader: _Optional[bool] = ..., drained: _Optional[bool] = ...) -> None: ...

class MembersResponse(_message.Message):
    __slots__ = ("members", "leader_id", "term")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[Member]
    leader_id: str
    term: int
    def __init__(self, members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ..., leader_id: _Optional[str] = ..., term: _Optional[int] = ...) -> None: ...

class DrainRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class DrainResponse(_message.Message):
    __slots__ = ("leader_id",)
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    leader_id: str
    def __init__(self, leader_id: _Optional[str] = ...) -> None: ...

class InjectFaultRequest(_message.Message):
    __slots__ = ("fault", "duration_ms")
    FAULT_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    fault: Fault
    duration_ms: int
    def __init__(self, fault: _Optional[_Union[Fault, str]] = ..., duration_ms: _Optional[int] = ...) -> None: ...

class InjectFaultResponse(_message.Message):
    __slots__ = ("node_id", "affected")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    AFFECTED_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    affected: int
    def __init__(self, node_id: _Optional[str] = ..., affected: _Optional[int] = ...) -> None: ...

class ProbeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProbeResponse(_message.Message):
    __slots__ = ("node_id", "leader", "term", "running", "confirmed", "leader_loops_ready")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    LEADER_LOOPS_READY_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    leader: bool
    term: int
    running: int
    confirmed: int
    leader_loops_ready: bool
    def __init__(self, node_id: _Optional[str] = ..., leader: _Optional[bool] = ..., term: _Optional[int] = ..., running: _Optional[int] = ..., confirmed: _Optional[int] = ..., leader_loops_ready: _Optional[bool] = ...) -> None: ...

class BackupRequest(_message.Message):
    __slots__ = ("hold_gc_ms",)
    HOLD_GC_MS_FIELD_NUMBER: _ClassVar[int]
    hold_gc_ms: int
    def __init__(self, hold_gc_ms: _Optional[int] = ...) -> None: ...

class BackupHeader(_message.Message):
    __slots__ = ("cluster_id", "index", "term", "state_hash", "snapshot_version", "command_version", "kappa_version", "kappa_commit", "leader_id", "created_unix_ms", "size", "store", "jobs", "running_jobs", "tasks")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_VERSION_FIELD_NUMBER: _ClassVar[int]
    COMMAND_VERSION_FIELD_NUMBER: _ClassVar[int]
    KAPPA_VERSION_FIELD_NUMBER: _ClassVar[int]
    KAPPA_COMMIT_FIELD_NUMBER: _ClassVar[int]
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_JOBS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    index: int
    term: int
    state_hash: str
    snapshot_version: int
    command_version: int
    kappa_version: str
    kappa_commit: str
    leader_id: str
    created_unix_ms: int
    size: int
    store: str
    jobs: int
    running_jobs: int
    tasks: int
    def __init__(self, cluster_id: _Optional[str] = ..., index: _Optional[int] = ..., term: _Optional[int] = ..., state_hash: _Optional[str] = ..., snapshot_version: _Optional[int] = ..., command_version: _Optional[int] = ..., kappa_version: _Optional[str] = ..., kappa_commit: _Optional[str] = ..., leader_id: _Optional[str] = ..., created_unix_ms: _Optional[int] = ..., size: _Optional[int] = ..., store: _Optional[str] = ..., jobs: _Optional[int] = ..., running_jobs: _Optional[int] = ..., tasks: _Optional[int] = ...) -> None: ...

class BackupChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: BackupHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[BackupHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...
