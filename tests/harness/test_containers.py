"""Container images without a daemon: discovery, locks, wheelhouse, build context, base choice, staleness."""

from __future__ import annotations

import io
import tarfile
from types import SimpleNamespace

import pytest

from harness.images import ContainerError, discover, get_image, image_for_framework
from harness.images.build import BOOTSTRAP_HINT, resolve_base, stale_labels
from harness.images.context import PipSource, source_sha256, write_context
from harness.images.lock import normalize, parse_lock, project_requirements
from harness.images.specs import LABEL, dockerfile_arg_default
from harness.images.wheelhouse import distribution_of, select


def test_images_are_folders_and_frameworks_map_to_one_image():
    assert "torch-ort" in discover()
    image = get_image("torch-ort")
    assert image_for_framework("onnxrt").name == image_for_framework("torch").name == "torch-ort"
    assert image_for_framework("tensorflow").name == "tensorflow"  # TensorFlow never shares torch's image
    assert image.tag == "compressor/torch-ort:latest"
    assert image.default_base.startswith("python:3.") and "slim" in image.default_base
    with pytest.raises(ContainerError, match="did you mean 'torch-ort'"):
        get_image("torch-or")
    with pytest.raises(ContainerError, match="no image .* runs framework 'mxnet'; served: onnxrt, tensorflow, torch"):
        image_for_framework("mxnet")


def _folder(root, name, frameworks, extra=""):
    (root / name).mkdir()
    (root / name / "Dockerfile").write_text("ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\n")
    (root / name / "image.yaml").write_text(f"frameworks: {frameworks}\nextras: []\npython: '3.11'\n{extra}")


def test_a_new_folder_is_a_new_image_and_double_claims_are_refused(tmp_path):
    _folder(tmp_path, "tf", "[tensorflow]")
    assert image_for_framework("tensorflow", tmp_path).name == "tf"
    _folder(tmp_path, "tf2", "[tensorflow]")
    with pytest.raises(ContainerError, match="claimed by several images: tf, tf2"):
        image_for_framework("tensorflow", tmp_path)
    _folder(tmp_path, "bad", "[x]", extra="pyhton: '3.8'\n")
    with pytest.raises(ContainerError, match="pyhton.*allowed keys: description, frameworks, extras, python"):
        _ = discover(tmp_path)["bad"].spec


def test_dockerfile_base_argument():
    assert dockerfile_arg_default("ARG BASE_IMAGE=python:3.8-slim-bullseye\nFROM x\n", "BASE_IMAGE") == (
        "python:3.8-slim-bullseye"
    )
    with pytest.raises(ContainerError, match="no `ARG BASE_IMAGE=<default>`"):
        dockerfile_arg_default("FROM python\n", "BASE_IMAGE")


@pytest.mark.parametrize("name", ["torch-ort", "tensorflow"])
def test_committed_lock_is_exact_and_covers_the_image_extras(name):
    image = get_image(name)
    pins = parse_lock(image.lock_text())
    assert "compressor" not in pins and "setuptools" in pins
    if name == "torch-ort":
        assert pins["torch"].endswith("+cpu")
    else:  # the TensorFlow image carries no torch (the zoo-data extra leaves the MiniLM encoder out)
        assert "torch" not in pins and pins["tensorflow-cpu"] == "2.21.0"
    for requirement in project_requirements(image.spec.extras):
        name_ = normalize(requirement.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip())
        assert name_ in pins, f"{requirement} is not in {image.lock_file}; run harness containers lock {name}"
    with pytest.raises(ContainerError, match="lock:3: 'numpy>=1' is not an exact pin"):
        parse_lock("# c\nrich==13.0\nnumpy>=1\n", source="lock")


def test_wheelhouse_selects_exactly_the_pins(tmp_path):
    assert distribution_of("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl") == ("torch", "2.13.0+cpu")
    assert distribution_of("PyYAML-6.0.3.tar.gz") == ("pyyaml", "6.0.3")
    for name in ("rich-15.0.0-py3-none-any.whl", "rich-14.0.0-py3-none-any.whl", "numpy-2.0.tar.gz", "x.txt"):
        (tmp_path / name).write_text("")
    files, missing = select(tmp_path, {"rich": "15.0.0", "numpy": "2.0", "scipy": "1.0"})
    assert [f.name for f in files] == ["numpy-2.0.tar.gz", "rich-15.0.0-py3-none-any.whl"]
    assert missing == ["scipy==1.0"]


def test_build_context_holds_the_project_and_pip_config_only(tmp_path):
    image = get_image("torch-ort")
    wheel = tmp_path / "rich-15.0.0-py3-none-any.whl"
    wheel.write_bytes(b"w")
    buffer = io.BytesIO()
    write_context(image, PipSource(wheels=(wheel,)), buffer)
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as tar:
        names = tar.getnames()
        conf = tar.extractfile("pip/pip.conf").read().decode()
    assert names[:3] == ["Dockerfile", "requirements.lock", "pip/pip.conf"]
    assert "pip/wheels/rich-15.0.0-py3-none-any.whl" in names
    assert {"src/pyproject.toml", "src/README.md", "src/harness/cli.py", "src/models/cache.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith("src/tests")]
    assert "no-index = true" in conf
    # wheels are decided by the lock and left out of the hash; the pip mode is not
    assert source_sha256(image, PipSource()) == source_sha256(image, PipSource(wheels=(wheel,)))
    network = PipSource(mode="network", ca_bundle=wheel)
    assert source_sha256(image, PipSource()) != source_sha256(image, network)
    with pytest.raises(ContainerError, match="pip source 'ftp' is not known; allowed: wheelhouse, network"):
        PipSource(mode="ftp")


class FakeImages:
    def __init__(self, local: dict, labelled: list, pull_error: str | None = None):
        self.local, self.labelled, self.pull_error, self.pulled = local, labelled, pull_error, []

    def get(self, ref):
        import docker.errors

        if ref not in self.local:
            raise docker.errors.ImageNotFound(ref)
        return self.local[ref]

    def list(self, filters):
        return [i for i in self.labelled if filters["label"].split("=", 1)[1] in i.labels.values()]

    def pull(self, repository, tag):
        import docker.errors

        if self.pull_error:
            raise docker.errors.APIError(self.pull_error, explanation=self.pull_error)
        self.pulled.append(f"{repository}:{tag}")
        return SimpleNamespace(id="sha256:pulled")


def test_base_image_choice_prefers_local_then_bootstrapped_then_pull():
    pytest.importorskip("docker")
    default = "python:3.11-slim-bookworm"
    official = SimpleNamespace(id="sha256:official", tags=[default], labels={})
    stand_in = SimpleNamespace(
        id="sha256:boot", tags=["compressor/base:bookworm"], labels={f"{LABEL}.base.substitutes": default}, attrs={}
    )
    # an image built FROM the stand-in inherits its labels: never a base
    child = SimpleNamespace(
        id="sha256:child", tags=["compressor/torch-ort:latest"], attrs={},
        labels={f"{LABEL}.base.substitutes": default, f"{LABEL}.image": "torch-ort"},
    )  # fmt: skip
    client = SimpleNamespace(images=FakeImages({default: official}, [stand_in, child]))
    assert resolve_base(client, default).how == "local"
    client = SimpleNamespace(images=FakeImages({}, [child, stand_in]))
    assert resolve_base(client, default) == resolve_base(client, default)
    assert resolve_base(client, default).ref == "compressor/base:bookworm"
    client = SimpleNamespace(images=FakeImages({}, []))
    assert resolve_base(client, default).how == "pulled" and client.images.pulled == [default]
    client = SimpleNamespace(images=FakeImages({}, [child], pull_error="dial tcp: lookup registry-1.docker.io"))
    with pytest.raises(ContainerError, match=f"cannot be pulled .*registry-1.*`{BOOTSTRAP_HINT}`"):
        resolve_base(client, default)


def test_rebuild_only_when_a_label_changed():
    wanted = {"a.git-sha": "1", "a.lock-sha256": "x"}
    assert stale_labels(dict(wanted, other="y"), wanted) == []
    assert stale_labels({"a.git-sha": "0", "a.lock-sha256": "x"}, wanted) == ["a.git-sha"]
    assert stale_labels(None, wanted) == list(wanted)


@pytest.mark.docker
def test_a_second_build_is_a_no_op(docker_client):
    from harness.images.build import build_image

    image = get_image("torch-ort")
    build_image(image, client=docker_client)  # whatever state the image is in: up to date after this
    again = build_image(image, client=docker_client)
    assert not again.built and again.seconds < 30
    labels = docker_client.images.get(image.tag).labels
    assert labels[f"{LABEL}.lock-sha256"] == image.lock_sha256()
