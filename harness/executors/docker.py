"""Run each job in its framework's image (``harness containers build``), one container per job.

The container gets the job's cores (``--cpuset-cpus``) and numactl binds inside them (sched_setaffinity
when numactl may not bind there), a memory limit, ``--network none``, an unprivileged user and a
read-only root file system. The zoo cache and the dataset folders are mounted read-only; the only
writable place is the job's own directory (job file, row file, TMPDIR and HOME). Models are prepared
before any job starts (``harness run`` does it): on the host when it has the framework, else in the
framework's image, whose one preparing container may write the cache; a job whose model is not in the
cache fails with the command that prepares it, since a job's container cannot train into a read-only cache.

A container is removed when its job ends; on a crash or a kill its log tail goes into the row. Rows
have the local executor's schema plus ``image_id``; ``git_sha`` is the commit the image was built from.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ContainerError
from ..images.specs import LABEL, image_for_framework, repo_git_sha
from ..matrix import Job
from ..results import ResultRow, failure_row, row_from_dict
from . import Executor, prepare_models
from .local import PIN_ENV, STDERR_TAIL

WORK_MOUNT = "/work"  # where a job's kept workspace (<results>/_work/<key>) is mounted
CONTAINER_UID = 1000  # the image's `harness` user, used when the harness runs as root
MEM_LIMIT_ENV = "HARNESS_DOCKER_MEM_LIMIT"
DATA_MOUNTS = {  # env var naming the host folder → (default host folder, path inside)
    "COMPRESSOR_FASHION_MNIST_DIR": ("/usr/share/datasets/fashion-mnist", "/data/fashion-mnist"),
    "COMPRESSOR_WORDNET_DIR": ("/usr/share/wordnet", "/data/wordnet"),
}
log = logging.getLogger(__name__)
PASS_ENV_PREFIXES = ("HARNESS_",)  # e.g. HARNESS_DEBUG_TECHNIQUES for the tests' misbehaving techniques
PASS_ENV = ("PYTHONHASHSEED",)


def container_user() -> tuple[int, int]:
    """The host user when it is not root (the job directory is then its own), else the image's user."""
    uid = os.getuid()
    return (uid, os.getgid()) if uid != 0 else (CONTAINER_UID, CONTAINER_UID)


def container_options(
    cpus: tuple[int, ...], job_dir: Path, cache_dir: Path, mem_limit: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """``containers.run`` keyword arguments of one job: the isolation the executor promises, in one place."""
    uid, gid = container_user()
    volumes = {str(cache_dir): {"bind": "/cache", "mode": "ro"}, str(job_dir): {"bind": "/job", "mode": "rw"}}
    environment = {
        "COMPRESSOR_CACHE_DIR": "/cache", "HOME": "/job/home", "TMPDIR": "/job/tmp",
        "MPLCONFIGDIR": "/job/home/.matplotlib", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1",
    }  # fmt: skip
    for var, (default, inside) in DATA_MOUNTS.items():
        host = Path(os.environ.get(var, default))
        if host.is_dir():
            volumes[str(host)] = {"bind": inside, "mode": "ro"}
            environment[var] = inside
    environment.update({k: v for k, v in os.environ.items() if k.startswith(PASS_ENV_PREFIXES) or k in PASS_ENV})
    environment.update(env or {})
    return {
        "cpuset_cpus": ",".join(map(str, cpus)),
        "mem_limit": mem_limit,
        "memswap_limit": mem_limit,  # no swap: a job over its limit is OOM-killed, not slowed down
        "network_mode": "none",
        "user": f"{uid}:{gid}",
        "read_only": True,
        "volumes": volumes,
        "environment": environment,
        "working_dir": "/job",
        "init": True,  # tini as PID 1: signals and zombies handled like outside
        "security_opt": ["no-new-privileges"],
        "cap_drop": ["ALL"],
    }


class DockerExecutor(Executor):
    name = "docker"

    def __init__(
        self, log_dir: str | os.PathLike | None = None, mem_limit: str | None = None, client: Any = None
    ) -> None:
        """``mem_limit``: per-container memory limit (default ``$HARNESS_DOCKER_MEM_LIMIT`` or 4g)."""
        from ..images.build import connect

        super().__init__(log_dir)
        self.client = client or connect()
        self.mem_limit = mem_limit or os.environ.get(MEM_LIMIT_ENV, "4g")
        self._live: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._pin_methods: dict[str, str] = {}
        self._warned: set[str] = set()
        self._cancelled = False

    def prepare(self, jobs: Sequence[Job], progress: bool = True) -> None:
        """Train (or load) each model once before the jobs: on the host when it has the framework, else in
        the framework's image with the zoo cache mounted writable (TensorFlow never has to be installed on
        the host for its jobs to run in the tensorflow image)."""
        prepare_models(jobs, progress, self._prepare_where_possible)

    def _prepare_where_possible(self, model: str, framework: str) -> None:
        import models
        from models.errors import FrameworkUnavailableError
        from models.frameworks import adapter

        try:
            adapter(framework)
        except FrameworkUnavailableError:
            self._prepare_in_image(model, framework)
        else:
            models.get(model).prepare(framework=framework)

    def _prepare_in_image(self, model: str, framework: str) -> None:
        """``harness models prepare MODEL --framework FRAMEWORK`` in the framework's image, as the cache's
        owner, the cache mounted read-write (the only difference from a job's container), no network."""
        from models.cache import default_cache_dir

        spec = image_for_framework(framework)
        image = self.client.images.get(spec.tag)
        cache_dir = default_cache_dir().resolve()
        cache_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="harness-prepare-", dir=self.log_dir))
        for sub in ("tmp", "home"):
            (work / sub).mkdir()
        owner = cache_dir.stat()
        if os.getuid() == 0:
            for path in (work, work / "tmp", work / "home"):
                os.chown(path, owner.st_uid, owner.st_gid)
        options = container_options(tuple(sorted(os.sched_getaffinity(0))), work, cache_dir, self.mem_limit)
        options["volumes"][str(cache_dir)]["mode"] = "rw"
        options["user"] = f"{owner.st_uid}:{owner.st_gid}"
        command = ["harness", "models", "prepare", model, "--framework", framework]
        logs = self.client.containers.run(image.id, command, remove=True, stdout=True, stderr=True, **options)
        (self.log_dir / f"prepare-{model}-{framework}.log").write_bytes(logs or b"")

    def run(self, job: Job, cpus: tuple[int, ...]) -> ResultRow:  # type: ignore[valid-type]
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        start = time.perf_counter()
        stem = job.job_id.replace("/", "_")
        image, row = None, None
        try:
            image = self._image(job)
            cache_dir = self._check_cache(job)
            job_dir = self._job_dir(stem, job)
            method = self._pin_method(image, cpus)
            status, error = self._run_container(job, image, cpus, job_dir, cache_dir, method, stem)
            row_file = job_dir / "row.json"
            if status is None and row_file.exists():
                row = row_from_dict(json.loads(row_file.read_text()))
            shutil.rmtree(job_dir / "tmp", ignore_errors=True)
            shutil.rmtree(job_dir / "home", ignore_errors=True)
        except ContainerError as exc:
            status, error, method = "failed", str(exc), "none"
        if row is None:
            row = failure_row(
                job, status, error, started_at=started_at, wall_seconds=time.perf_counter() - start, cpus=cpus
            )
        row.cpus = row.cpus or ",".join(map(str, cpus))
        row.pinning = method
        row.hostname = socket.gethostname()  # inside, the hostname is the container's id
        if image is not None:
            row.image_id = image.id
            row.git_sha = image.labels.get(f"{LABEL}.git-sha", row.git_sha)
        return row

    def cancel(self) -> None:
        """Kill every running container (Ctrl-C): finished rows are already on disk."""
        self._cancelled = True
        with self._lock:
            containers = list(self._live.values())
        for container in containers:
            with contextlib.suppress(Exception):  # already gone
                container.kill()

    # --- one job ------------------------------------------------------------------------------------

    def _image(self, job: Job) -> Any:
        import docker.errors

        spec = image_for_framework(job.framework)
        try:
            image = self.client.images.get(spec.tag)
        except docker.errors.ImageNotFound:
            raise ContainerError(
                f"image {spec.tag} for framework {job.framework!r} is not built; run "
                f"`harness containers build {spec.name}`"
            ) from None
        built_from = image.labels.get(f"{LABEL}.git-sha")
        if built_from != repo_git_sha() and image.id not in self._warned:
            self._warned.add(image.id)
            log.warning(
                "%s was built from %s, the tree is at %s: jobs run the image's code "
                "(`harness containers build %s` updates it)", spec.tag, built_from, repo_git_sha(), spec.name,
            )  # fmt: skip
        return image

    def _check_cache(self, job: Job) -> Path:
        import models
        from models.cache import default_cache_dir

        cache_dir = default_cache_dir().resolve()
        framework = job.framework
        if not models.get(job.model).is_cached(framework):
            raise ContainerError(
                f"model {job.model!r} ({framework}) is not in the zoo cache {cache_dir}, which containers mount "
                f"read-only; prepare it first: `harness models prepare {job.model}` (harness run does it, in the "
                f"framework's image when the host lacks the framework)"
            )
        if os.getuid() == 0 and (cache_dir.stat().st_mode & 0o005) != 0o005:
            raise ContainerError(
                f"the zoo cache {cache_dir} is not readable by the container's user {CONTAINER_UID}: chmod o+rx it"
            )
        return cache_dir

    def _job_dir(self, stem: str, job: Job) -> Path:
        job_dir = self.log_dir / stem
        shutil.rmtree(job_dir, ignore_errors=True)
        for sub in ("tmp", "home"):
            (job_dir / sub).mkdir(parents=True)
        owned = [job_dir, job_dir / "tmp", job_dir / "home", job_dir / "job.json"]
        if job.work_dir:  # the job's kept workspace, mounted read-write at the same name inside
            work = Path(job.work_dir)
            work.mkdir(parents=True, exist_ok=True)
            owned += [work, *work.rglob("*")]
            job = replace(job, work_dir=f"{WORK_MOUNT}/{work.name}")
        (job_dir / "job.json").write_text(job.to_json())
        if os.getuid() == 0:
            for path in owned:
                os.chown(path, CONTAINER_UID, CONTAINER_UID)
        return job_dir

    def _pin_method(self, image: Any, cpus: tuple[int, ...]) -> str:
        """numactl when it may bind inside this image's containers (seccomp may forbid it), else the worker's
        sched_setaffinity; probed once per image."""
        if image.id not in self._pin_methods:
            import docker.errors

            try:
                self.client.containers.run(
                    image.id, ["numactl", f"--physcpubind={cpus[0]}", "--", "true"], remove=True,
                    network_mode="none", cpuset_cpus=str(cpus[0]), user=":".join(map(str, container_user())),
                )  # fmt: skip
                self._pin_methods[image.id] = "numactl"
            except docker.errors.ContainerError:
                self._pin_methods[image.id] = "sched_setaffinity"
        return self._pin_methods[image.id]

    def _run_container(self, job, image, cpus, job_dir, cache_dir, method, stem) -> tuple[str | None, str | None]:
        """(None, None) when the container exited 0, else the job's status and error."""
        import requests

        cpu_list = ",".join(map(str, cpus))
        worker = ["python", "-m", "harness.executors.worker", "/job/job.json", "/job/row.json"]
        prefix = ["numactl", f"--physcpubind={cpu_list}", "--"] if method == "numactl" else []
        env = {PIN_ENV: cpu_list} if method == "sched_setaffinity" else {}
        options = container_options(cpus, job_dir, cache_dir, self.mem_limit, env)
        if job.work_dir:
            options["volumes"][job.work_dir] = {"bind": f"{WORK_MOUNT}/{Path(job.work_dir).name}", "mode": "rw"}
        labels = {f"{LABEL}.job": job.job_id, f"{LABEL}.log-dir": str(self.log_dir)}
        container = self.client.containers.create(
            image.id, [*prefix, *worker], name=_name(stem), labels=labels, **options
        )
        with self._lock:
            self._live[container.id] = container
        status = error = None
        try:
            container.start()
            try:
                code = container.wait(timeout=job.timeout_s)["StatusCode"]
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                container.kill()
                code = None
                status, error = "timeout", f"killed after the per-job limit of {job.timeout_s:g} s"
            logs = container.logs(stdout=True, stderr=True)
            (self.log_dir / f"{stem}.log").write_bytes(logs)
            if status is None and (code != 0 or not (job_dir / "row.json").exists()):
                container.reload()
                status = "crashed"
                error = self._death_reason(code, container.attrs["State"]) + _tail(logs)
        finally:
            with self._lock:
                self._live.pop(container.id, None)
            container.remove(force=True)
        return status, error

    def _death_reason(self, code: int | None, state: dict[str, Any]) -> str:
        if self._cancelled:
            return "cancelled (harness interrupted)"
        if state.get("OOMKilled"):
            return f"container killed: out of memory (limit {self.mem_limit}, {MEM_LIMIT_ENV} raises it)"
        if code is not None and code > 128:
            return f"worker killed by signal {code - 128} (exit code {code})"
        return f"worker exited with code {code} without writing a result"


def _name(stem: str) -> str:
    import re
    import secrets

    return f"harness-{re.sub(r'[^a-zA-Z0-9_.-]', '-', stem)[:80]}-{secrets.token_hex(3)}"


def _tail(logs: bytes) -> str:
    text = logs[-STDERR_TAIL:].decode(errors="replace").strip()
    return f"; output tail:\n{text}" if text else ""
