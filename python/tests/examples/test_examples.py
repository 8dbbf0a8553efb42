"""Every example runs as the README shows (bin/kappa run …) and gives the
right answer, checked against a plain-Python computation."""

import importlib.util

import pytest
from worker.kapparun import REPO, run_program

from .sites import Site

EXAMPLES = REPO / "examples"


def example_module(name):
    """The example imported as plain Python, to compute expected answers."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_work_queue():
    r = run_program(EXAMPLES / "work_queue.py", {"items": 1000, "workers": 10})
    wq = example_module("work_queue")
    out = r.result
    assert out["items"] == 1000 and sum(out["per_worker"]) == 1000 and len(out["per_worker"]) == 10
    assert out["total"] == out["expected_total"] == sum(wq.work(i) for i in range(1000))


@pytest.mark.parametrize("event", [
    {"word": "abab", "chunks": 16, "workers": 4},
    {"word": "babcab", "chunks": 6, "workers": 3, "chunk_size": 7, "seed": 3},   # chunks barely longer than the word
])
def test_grep(event):
    grep = example_module("grep")
    text = "".join(grep.chunk_text(event.get("seed", 1), i, event.get("chunk_size", 10_000))
                   for i in range(event["chunks"]))
    out = run_program(EXAMPLES / "grep.py", event).result
    assert out["count"] == grep.count(text, event["word"]) and len(out["per_worker"]) == event["workers"]


def test_streaming():
    streaming = example_module("streaming")
    words = " ".join(streaming.line(7, i) for i in range(400)).split()
    out = run_program(EXAMPLES / "streaming.py", {"lines": 400, "mappers": 4}).result
    assert out["lines"] == out["produced"] == sum(out["per_mapper"]) == 400
    assert out["words"] == len(words)
    assert out["counts"] == {w: words.count(w) for w in set(words)}


def test_crawler_processes_each_page_once():
    site = Site(pages=30)
    service = example_module("dedup_service").DedupService().serve_in_background()
    out = run_program(EXAMPLES / "crawler.py", {"start": site.url, "service": service.url, "workers": 4},
                      "--lambda-timeout", "2s").result
    assert out["pages"] == 30 and sum(out["per_worker"]) == 30
    assert out["broken"] == [site.base + "missing"]
    pages = {f"{site.base}page/{i}" for i in range(30)}
    assert set(service.effects) == pages
    assert all(n == 1 for n in service.effects.values()), service.effects
    stats = service.stats()
    assert len(stats) == 30 and all(s["attempts"] >= 1 and s["applied"] == 1 for s in stats.values())
    assert all(key.startswith("kappa/") for key in stats)


def readme_programs():
    """The Python blocks of the README's section on queues and effects."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Queues, external calls"):text.index("## A cluster")]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


def test_readme_programs_run(tmp_path):
    queue_program, notify_program = readme_programs()
    assert run_program(queue_program, tmp_path=tmp_path).result == 200
    service = example_module("dedup_service").DedupService().serve_in_background()
    notify_program = notify_program.replace("http://127.0.0.1:8001/processed", service.url)
    assert run_program(notify_program, {"order": 7}, tmp_path=tmp_path).result is True
    assert service.stats() == {next(iter(service.applied)): {"attempts": 1, "applied": 1}}
    assert list(service.effects) == ["order/7"]
