"""Which MiniLM variant `embedding_variant = "auto"` runs on this CPU, decided at start-up from the CPU's flags.

The rule follows what was measured (docs/performance.md, "The query embedding on every CPU"):

- With VNNI (`avx512_vnni`, `avx_vnni` or `amx_int8`), the `int8` variant's `MatMulNBits` kernels multiply in
  int8 and embed about 1.4x faster than `fp32` at cosine 0.998 to sentence-transformers: `int8`.
- Without VNNI (AVX2 only, or a CPU whose flags are unknown), the same kernels dequantise the weights and run
  6-20% *slower* than `fp32`. ONNX Runtime's dynamic quantisation (`MatMulIntegerToFloat`) does compute int8 on
  AVX2, 1.7x faster than `fp32`, but with one activation scale per tensor it falls below the quality bar
  (mean cosine to sentence-transformers >= 0.995); the one configuration that passes keeps both feed-forward
  MatMuls of every layer in fp32 and is no faster than `fp32`. Nothing int8 pays there: `fp32`.

The flags are read afresh at every start, so a data directory moved to another CPU chooses again; the model id
names the variant, so collections embedded before keep being searched with the variant that embedded them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from lore.backends.embedder.variants import Variant

VariantSetting = Literal["auto", "int8", "fp32"]
CPUINFO = Path("/proc/cpuinfo")
INT8_COMPUTE_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def choose_variant(flags: Iterable[str]) -> Variant:
    """The variant that embeds fastest within the quality bars on a CPU with these flags."""
    return "int8" if INT8_COMPUTE_FLAGS.intersection(flags) else "fp32"


def resolve_variant(setting: VariantSetting, flags: Iterable[str] | None = None) -> Variant:
    """An explicit setting as it is; `auto` by `choose_variant` on `flags` (default: this CPU's)."""
    if setting != "auto":
        return setting
    return choose_variant(cpu_flags() if flags is None else flags)


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The first processor's feature flags (`flags` on x86, `Features` on ARM); empty where unreadable."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    return parse_flags(text)


def parse_flags(cpuinfo: str) -> frozenset[str]:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()
