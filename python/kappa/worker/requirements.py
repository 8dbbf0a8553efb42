"""A directory program's requirements.txt, installed on the worker.

Requirements already satisfied by the worker's environment (the deployed
function's zip, or the local interpreter) need nothing. Otherwise they are
installed with `pip install --target` into a cache directory named by the
hash of the requirements (and of the bundle files they may name), so every
later invocation on this machine finds them there. On AWS Lambda the only
writable place is /tmp; bake large requirements into the function instead
(`kappa deploy --requirements FILE`).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

CACHE_ENV = "KAPPA_REQUIREMENTS_DIR"
_DONE = ".kappa-complete"


class RequirementsError(Exception):
    """pip could not install the program's requirements."""


def install_requirements(text: str, files: dict[str, bytes]) -> str | None:
    """Returns a directory to put first on sys.path, or None when the
    environment already satisfies every requirement."""
    if _satisfied(text):
        return None
    target = os.path.join(cache_root(), _digest(text, files))
    if os.path.exists(os.path.join(target, _DONE)):
        return target
    os.makedirs(cache_root(), exist_ok=True)
    with open(target + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing the same
        if not os.path.exists(os.path.join(target, _DONE)):
            _pip_install(text, files, target)
    return target


def cache_root() -> str:
    return os.environ.get(CACHE_ENV) or os.path.join(tempfile.gettempdir(), "kappa-requirements")


def _digest(text: str, files: dict[str, bytes]) -> str:
    h = hashlib.sha256(f"{sys.version_info[0]}.{sys.version_info[1]}\0".encode())
    h.update(text.encode())
    # A requirement may name a file shipped with the program (a wheel).
    for name in sorted(files):
        if not name.endswith(".py"):
            h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()[:24]


def _pip_install(text: str, files: dict[str, bytes], target: str) -> None:
    # pip runs in a copy of the program's files, so a relative path in
    # requirements.txt (./wheels/x.whl) means what it meant to the author.
    with tempfile.TemporaryDirectory(prefix="kappa-program-") as work:
        for name, data in files.items():
            path = os.path.join(work, *name.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        with open(os.path.join(work, "requirements.txt"), "w") as f:
            f.write(text)
        staging = target + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-input", "--target", staging, "-r", "requirements.txt"]
        try:
            proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise RequirementsError(f"installing the program's requirements.txt failed: cannot run pip: {e}") from None
        if proc.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise RequirementsError("installing the program's requirements.txt failed: "
                                    + _pip_error(proc.stderr or proc.stdout))
    open(os.path.join(staging, _DONE), "w").close()
    shutil.rmtree(target, ignore_errors=True)
    os.rename(staging, target)


def _pip_error(output: str) -> str:
    """pip's own error line, e.g. 'ERROR: No matching distribution found for x'."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR:")]
    return (errors[-1] if errors else lines[-1] if lines else "pip failed without a message")[:500]


def _satisfied(text: str) -> bool:
    """True when every line is a plain requirement (name, version
    specifiers, markers) that an installed distribution meets; options,
    paths and URLs always go to pip."""
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        try:
            from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
        except ImportError:
            return False
    from importlib import metadata
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            return False
        if req.url:
            return False
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            return False
        if not req.specifier.contains(version, prereleases=True):
            return False
    return True
