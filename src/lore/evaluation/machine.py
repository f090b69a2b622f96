"""What the machine a figure was measured on can do: the instruction sets that change Lore's speed."""

from __future__ import annotations

from pathlib import Path

CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8")


def cpu_flags() -> list[str]:
    """Which of `CPU_FLAGS` this CPU has (empty where /proc/cpuinfo is not there)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next(
        (line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []
    )
    return [flag for flag in CPU_FLAGS if flag in flags]
