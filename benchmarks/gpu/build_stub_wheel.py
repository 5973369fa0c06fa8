"""Write ``nemo_wandb_stub-0.0.1-py3-none-any.whl``: a stand-in ``wandb`` module for the GPU check.

Why: ``from nemo.collections.speechlm2.models import SALM`` imports
``nemo.collections.tts`` (through ``speechlm2.data``), and two of its modules
(``tts/models/magpietts.py``, ``easy_magpietts.py``) run ``import wandb`` at
module level. The real ``wandb`` wheel is ~20 MB (it bundles a Go binary) plus
OpenTelemetry and more: too big to carry to the device. Inference never logs to
Weights & Biases, so an importable module whose attributes all raise is enough.

The distribution is named ``nemo-wandb-stub`` (not ``wandb``), so
``importlib.metadata.version("wandb")`` still fails and Lightning's
``RequirementCache("wandb>=...")`` reports wandb as unavailable.

The wheel is byte-for-byte reproducible (fixed timestamps, sorted entries).
Usage: ``python3 benchmarks/gpu/build_stub_wheel.py OUT_DIR``.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path

NAME = "nemo_wandb_stub"
VERSION = "0.0.1"

MODULE = '''\
"""Stand-in for ``wandb`` (nemo-wandb-stub): importable, but every attribute raises.

Installed only for the GPU check of transcribe_studio, where NeMo imports wandb at
module level but never uses it for inference. Install the real ``wandb`` to log runs.
"""

__stub__ = True


def __getattr__(name):
    raise AttributeError(
        f"wandb.{name}: this 'wandb' is a stand-in (nemo-wandb-stub) without Weights & Biases; "
        "install the real wandb package to use it"
    )
'''

METADATA = f"""\
Metadata-Version: 2.1
Name: nemo-wandb-stub
Version: {VERSION}
Summary: Importable stand-in for the wandb module (no Weights & Biases); for NeMo inference only.
"""

WHEEL = """\
Wheel-Version: 1.0
Generator: benchmarks/gpu/build_stub_wheel.py
Root-Is-Purelib: true
Tag: py3-none-any
"""


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    dist_info = f"{NAME}-{VERSION}.dist-info"
    files = {
        "wandb/__init__.py": MODULE.encode(),
        f"{dist_info}/METADATA": METADATA.encode(),
        f"{dist_info}/WHEEL": WHEEL.encode(),
        f"{dist_info}/top_level.txt": b"wandb\n",
    }
    record = "".join(_record_line(p, d) + "\n" for p, d in sorted(files.items()))
    record += f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record.encode()
    target = out_dir / f"{NAME}-{VERSION}-py3-none-any.whl"
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():  # RECORD last, as the spec asks
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(target)
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else ".whl")))
