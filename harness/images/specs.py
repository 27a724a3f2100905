"""Per-framework images: one folder per image under ``containers/``, discovered, never listed in code.

``containers/<name>/`` holds ``Dockerfile``, ``requirements.lock`` (``harness containers lock``) and
``image.yaml`` (what the image is for; validated here). Adding a framework's image is adding a folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compressor.errors import did_you_mean_hint

from ..errors import ContainerError

REPO_ENV = "HARNESS_REPO"


def _find_repo() -> Path:
    """The source checkout holding containers/: $HARNESS_REPO, the tree this package is imported from
    (editable installs), else the working directory (a tox env installs the package elsewhere)."""
    candidates = [os.environ.get(REPO_ENV), Path(__file__).resolve().parents[2], Path.cwd()]
    for candidate in filter(None, candidates):
        if (Path(candidate) / "containers").is_dir() and (Path(candidate) / "pyproject.toml").is_file():
            return Path(candidate).resolve()
    return Path.cwd()  # commands then say which file is missing


REPO = _find_repo()
CONTAINERS_DIR = REPO / "containers"
IMAGE_REPOSITORY = "compressor"  # images are tagged compressor/<name>:latest
LABEL = "org.compressor"  # label prefix of every image the harness builds


class ImageSpec(BaseModel):
    """``containers/<name>/image.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field("", description="What the image is for.")
    frameworks: list[str] = Field(min_length=1, description="Harness frameworks whose jobs run in this image.")
    extras: list[str] = Field(description="Extras of the project installed in the image (pyproject.toml).")
    python: str = Field(pattern=r"^3\.\d+$", description="Python of the base image (the lock is resolved for it).")


class Image:
    """One image folder: its spec, its files and its tag."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.name = folder.name
        self.dockerfile = folder / "Dockerfile"
        self.lock_file = folder / "requirements.lock"

    @cached_property
    def spec(self) -> ImageSpec:
        path = self.folder / "image.yaml"
        try:
            return ImageSpec.model_validate(yaml.safe_load(path.read_text()) or {})
        except OSError as exc:
            raise ContainerError(f"{path}: cannot read ({exc.strerror})") from None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ContainerError(f"{path}: {problems} (allowed keys: {', '.join(ImageSpec.model_fields)})") from None

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPOSITORY}/{self.name}:latest"

    @property
    def default_base(self) -> str:
        """The default of the Dockerfile's ``ARG BASE_IMAGE=...`` (an official slim Python image)."""
        return dockerfile_arg_default(self.dockerfile.read_text(), "BASE_IMAGE", source=str(self.dockerfile))

    def lock_text(self) -> str:
        try:
            return self.lock_file.read_text()
        except FileNotFoundError:
            raise ContainerError(
                f"{self.lock_file} is missing; generate it with `harness containers lock {self.name}`"
            ) from None

    def lock_sha256(self) -> str:
        return hashlib.sha256(self.lock_text().encode()).hexdigest()


def repo_git_sha(repo: Path = REPO) -> str:
    """HEAD of the checkout the image is built from, ``-dirty`` when tracked files differ."""
    try:
        run = {"cwd": repo, "capture_output": True, "text": True, "timeout": 10, "check": True}
        sha = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **run).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def dockerfile_arg_default(text: str, arg: str, source: str = "Dockerfile") -> str:
    match = re.search(rf"^\s*ARG\s+{arg}=(\S+)\s*$", text, flags=re.MULTILINE | re.IGNORECASE)
    if match is None:
        raise ContainerError(f"{source}: no `ARG {arg}=<default>` line; every image Dockerfile declares one")
    return match.group(1).strip("\"'")


def discover(containers_dir: Path = CONTAINERS_DIR) -> dict[str, Image]:
    """Every folder with a Dockerfile and an image.yaml, by name."""
    folders = sorted(p.parent for p in containers_dir.glob("*/Dockerfile") if (p.parent / "image.yaml").is_file())
    return {folder.name: Image(folder) for folder in folders}


def get_image(name: str, containers_dir: Path = CONTAINERS_DIR) -> Image:
    images = discover(containers_dir)
    if name not in images:
        hint = did_you_mean_hint(name, images)
        raise ContainerError(
            f"unknown image {name!r}{hint}; known: {', '.join(images) or 'none'} (in {containers_dir})"
        )
    return images[name]


def image_for_framework(framework: str, containers_dir: Path = CONTAINERS_DIR) -> Image:
    """The image whose image.yaml lists ``framework``; exactly one must."""
    claims = [image for image in discover(containers_dir).values() if framework in image.spec.frameworks]
    if len(claims) > 1:
        raise ContainerError(
            f"framework {framework!r} is claimed by several images: {', '.join(i.name for i in claims)}; "
            "keep it in one image.yaml"
        )
    if not claims:
        served = sorted({fw for image in discover(containers_dir).values() for fw in image.spec.frameworks})
        raise ContainerError(
            f"no image under {containers_dir} runs framework {framework!r}; served: {', '.join(served) or 'none'} "
            "(add containers/<name>/ with an image.yaml listing it)"
        )
    return claims[0]
