"""Key layout of the checkpoint store, shared with checkpoint/keys.go (both
sides test it against checkpoint/testdata/key_vectors.json):

    programs/HASH.zip            a program bundle, by content hash
    jobs/jJ/tT/eE-sS.ckpt        the checkpoint a task writes before call S
    jobs/jJ/tT/eE-sS-KINDi.val   a large value (start, result, item, ...) written with call S

Numbers are decimal without leading zeros, so every key has one spelling.
"""

from __future__ import annotations

import re
from typing import NamedTuple


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


class Key(NamedTuple):
    """A key taken apart by parse_key. kind is "program", "checkpoint" or
    "value"; value and index say what a value key holds."""

    kind: str
    program: str = ""
    job: int = 0
    task: int = 0
    epoch: int = 0
    seq: int = 0
    value: str = ""
    index: int = 0

    def __str__(self) -> str:
        if self.kind == "program":
            return program_key(self.program)
        if self.kind == "checkpoint":
            return checkpoint_key(self.job, self.task, self.epoch, self.seq)
        return value_key(self.job, self.task, self.epoch, self.seq, self.index, self.value)


_NUMBER = r"(0|[1-9][0-9]*)"
_PROGRAM = re.compile(r"programs/([0-9a-f]+)\.zip")
_TASK = re.compile(rf"jobs/j{_NUMBER}/t{_NUMBER}/e{_NUMBER}-s{_NUMBER}(?:\.ckpt|-([a-z]+){_NUMBER}\.val)")
_MAX = 2**64 - 1


def parse_key(key: str) -> Key:
    """Takes a key of the layout apart; anything else (another layout, a
    leading zero, a number beyond 64 bits) raises ValueError naming it."""
    m = _PROGRAM.fullmatch(key)
    if m:
        return Key("program", program=m[1])
    m = _TASK.fullmatch(key)
    if not m:
        raise ValueError(
            f"key {key!r} is not a store key (programs/HASH.zip, jobs/jJ/tT/eE-sS.ckpt or jobs/jJ/tT/eE-sS-KINDi.val)"
        )
    job, task, epoch, seq = (int(g) for g in m.group(1, 2, 3, 4))
    index = int(m[6]) if m[6] else 0
    if max(job, task, epoch, seq, index) > _MAX:
        raise ValueError(f"key {key!r}: a number is beyond 64 bits")
    if m[5]:
        return Key("value", job=job, task=task, epoch=epoch, seq=seq, value=m[5], index=index)
    return Key("checkpoint", job=job, task=task, epoch=epoch, seq=seq)
