"""Directory programs through the real `kappa run`: the entry main.py
imports the program's own modules and packages (compiled, so a task can
pause inside them and resume in another lambda), and a requirements.txt is
installed on the worker when the environment does not satisfy it."""

import os
import re
import textwrap
import zipfile

import pytest

from kappa.worker.requirements import RequirementsError, install_requirements
from worker.kapparun import run_program


def write(root, files):
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(textwrap.dedent(body))


PROGRAM = {
    "main.py": """
        import helpers
        from shapes.area import square
        from kappa import spawn, checkpoint

        def handler(event, context):
            futures = [spawn(helpers.slow_sum, (n,)) for n in range(1, 4)]
            total = sum(f.wait() for f in futures)
            checkpoint()
            return {"total": total, "square": square(event["side"]), "label": helpers.LABEL}
    """,
    "helpers.py": """
        import time
        from kappa import checkpoint

        LABEL = "from helpers"

        def slow_sum(n):
            acc = 0
            for i in range(n * 20):
                acc += i
                if i % 5 == 0:
                    checkpoint()
                    time.sleep(0.1)
            return acc
    """,
    "shapes/__init__.py": "",
    "shapes/area.py": """
        def square(side):
            return side * side
    """,
}


def expected_total():
    return sum(sum(range(n * 20)) for n in range(1, 4))


def test_directory_program_imports_its_modules_across_lambdas(tmp_path):
    prog = tmp_path / "prog"
    write(prog, PROGRAM)
    # Short lambdas: the helpers' tasks pause and resume in new lambdas.
    r = run_program(prog, {"side": 7}, "--lambda-timeout", "1s", tmp_path=tmp_path)
    assert r.result == {"total": expected_total(), "square": 49, "label": "from helpers"}
    epochs = [int(e) for e in re.findall(r"epoch ≤(\d+)", r.stderr)]
    assert max(epochs) >= 2, "a helper's task should have resumed in a new lambda:\n" + r.stderr


def test_satisfied_requirements_need_no_install(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KAPPA_REQUIREMENTS_DIR", str(cache))
    prog = tmp_path / "prog"
    write(prog, {**PROGRAM, "requirements.txt": "protobuf>=3\ngrpcio  # the worker's own\n"})
    r = run_program(prog, {"side": 2}, tmp_path=tmp_path)
    assert r.result["square"] == 4
    assert not cache.exists(), "satisfied requirements must not be installed"


def tiny_wheel(path, name="kappatinylib", value=7):
    """A pure-Python wheel built by hand, so installing it needs no network."""
    dist = f"{name}-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}/__init__.py", f"VALUE = {value}\n")
        z.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        z.writestr(f"{dist}/WHEEL",
                   "Wheel-Version: 1.0\nGenerator: kappa-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{dist}/RECORD", f"{name}/__init__.py,,\n{dist}/METADATA,,\n{dist}/WHEEL,,\n{dist}/RECORD,,\n")


def test_requirements_are_installed_into_a_cache_per_hash(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KAPPA_REQUIREMENTS_DIR", str(cache))
    prog = tmp_path / "prog"
    write(prog, {
        "main.py": """
            import kappatinylib

            def handler(event, context):
                return {"value": kappatinylib.VALUE, "from": kappatinylib.__file__}
        """,
        "requirements.txt": "./wheels/kappatinylib-1.0-py3-none-any.whl\n",
    })
    (prog / "wheels").mkdir()
    tiny_wheel(prog / "wheels" / "kappatinylib-1.0-py3-none-any.whl")
    r = run_program(prog, {}, tmp_path=tmp_path)
    assert r.result["value"] == 7
    assert r.result["from"].startswith(str(cache)), r.result
    installed = [d for d in os.listdir(cache) if os.path.isdir(cache / d)]
    assert len(installed) == 1 and (cache / installed[0] / ".kappa-complete").exists()
    # The same requirements are found in the cache, not installed again.
    files = {"requirements.txt": (prog / "requirements.txt").read_bytes(),
             "wheels/kappatinylib-1.0-py3-none-any.whl":
                 (prog / "wheels" / "kappatinylib-1.0-py3-none-any.whl").read_bytes()}
    marker = cache / installed[0] / ".kappa-complete"
    before = marker.stat().st_mtime_ns
    assert install_requirements(files["requirements.txt"].decode(), files) == str(cache / installed[0])
    assert marker.stat().st_mtime_ns == before


def test_requirements_that_cannot_install_fail_the_job_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("KAPPA_REQUIREMENTS_DIR", str(tmp_path / "cache"))
    prog = tmp_path / "prog"
    write(prog, {
        "main.py": "def handler(event, context):\n    return 1\n",
        "requirements.txt": "./wheels/missing-1.0-py3-none-any.whl\n",
    })
    r = run_program(prog, {}, tmp_path=tmp_path)
    assert r.code == 1
    assert "installing the program's requirements.txt failed" in r.stderr
    assert "missing-1.0-py3-none-any.whl" in r.stderr


def test_install_error_names_pips_complaint(tmp_path, monkeypatch):
    monkeypatch.setenv("KAPPA_REQUIREMENTS_DIR", str(tmp_path / "cache"))
    with pytest.raises(RequirementsError, match=r"requirements.txt failed: ERROR: .*nope\.whl"):
        install_requirements("./nope.whl\n", {})


def test_directory_without_main_is_one_clear_line(tmp_path):
    prog = tmp_path / "prog"
    write(prog, {"app.py": "def handler(event, context):\n    return 1\n"})
    r = run_program(prog, {}, tmp_path=tmp_path)
    assert r.code == 2
    assert r.stderr.strip().count("\n") == 0 and "has no main.py" in r.stderr


def test_compile_error_in_a_module_is_reported_before_submitting(tmp_path):
    prog = tmp_path / "prog"
    write(prog, {
        "main.py": "import helpers\ndef handler(event, context):\n    return helpers.f()\n",
        "helpers.py": "def f():\n    return (yield from undefined_thing()) +\n",
    })
    r = run_program(prog, {}, tmp_path=tmp_path)
    assert r.code == 2
    assert "helpers.py" in r.stderr and r.stderr.strip().count("\n") == 0
