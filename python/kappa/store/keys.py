"""Key layout of the checkpoint store, shared with checkpoint/store.go."""


def program_key(program_hash: str) -> str:
    return f"programs/{program_hash}.zip"


def task_prefix(job: int, task: int) -> str:
    return f"jobs/j{job}/t{task}/"


def checkpoint_key(job: int, task: int, epoch: int, seq: int) -> str:
    """The checkpoint a task writes before its call `seq`."""
    return f"{task_prefix(job, task)}e{epoch}-s{seq}.ckpt"


def value_key(job: int, task: int, epoch: int, seq: int, index: int, kind: str) -> str:
    """A large value (spawn start, result) written along with call `seq`."""
    return f"{task_prefix(job, task)}e{epoch}-s{seq}-{kind}{index}.val"
