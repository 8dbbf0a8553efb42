"""load_program: a fresh module under a fixed name, never __main__."""

import linecache
import sys

from kappa.compiler import compile_source
from kappa.runtime import Call, core, load_program, request_pause, run

SOURCE = "COUNTER = [0]\n\ndef main():\n    COUNTER[0] += 1\n    return COUNTER[0]\n"


def test_each_load_is_a_fresh_module_registered_under_its_name():
    compiled = compile_source(SOURCE, "app.py")
    first = load_program(compiled)
    assert sys.modules["kappa_program"] is first
    assert run(Call(first.main)) == 1
    second = load_program(compiled)
    assert second is not first and sys.modules["kappa_program"] is second
    assert run(Call(second.main)) == 1              # no state leaks between loads
    assert first.__name__ == "kappa_program" != "__main__"
    assert first.__file__ == "app.py"
    assert first.__kappa__ is core


def test_module_name_can_be_chosen():
    module = load_program(compile_source(SOURCE, "app.py"), module_name="kappa_other")
    assert sys.modules["kappa_other"] is module and module.main.__module__ == "kappa_other"


def test_source_is_registered_for_tracebacks():
    load_program(compile_source(SOURCE, "not-on-disk.py"))
    assert linecache.getline("not-on-disk.py", 4).strip() == "COUNTER[0] += 1"
    load_program(compile_source(SOURCE, "shown.py"), source="# other text\n" * 5)
    assert linecache.getline("shown.py", 4).strip() == "# other text"


def test_pending_pause_does_not_fire_while_importing():
    source = "def f():\n    return 1\n\nVALUE = f()\n"
    request_pause()
    module = load_program(compile_source(source, "app.py"))
    assert module.VALUE == 1 and core.pending
