"""`embedding_variant = "auto"`: the variant chosen from a CPU's flags, and that the choice keeps the quality bar
(mean cosine >= 0.995 to sentence-transformers, tests/data/minilm_reference.json) whichever CPU it is made on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lore.backends.embedder.choice import choose_variant, cpu_flags, parse_flags, resolve_variant
from lore.backends.embedder.onnx import MiniLMEmbedder
from lore.config import Settings
from lore.registry import create_embedder

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "minilm_reference.json"
AVX2 = "fpu sse4_1 sse4_2 avx f16c avx2 fma"  # the AMD EPYC this was measured on
SKYLAKE_SP = AVX2 + " avx512f avx512bw avx512_vnni"
ALDER_LAKE = AVX2 + " avx_vnni"
SAPPHIRE_RAPIDS = SKYLAKE_SP + " amx_int8 amx_tile"
X86_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: {flags}

processor\t: 1
flags\t\t: {flags}
"""
ARM_CPUINFO = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd aes crc32 asimddp\n"


@pytest.mark.parametrize(
    ("flags", "variant"),
    [(AVX2, "fp32"), (SKYLAKE_SP, "int8"), (ALDER_LAKE, "int8"), (SAPPHIRE_RAPIDS, "int8"), ("", "fp32")],
)
def test_int8_is_chosen_only_where_the_cpu_multiplies_in_int8(flags: str, variant: str) -> None:
    assert choose_variant(flags.split()) == variant
    assert resolve_variant("auto", flags.split()) == variant


def test_an_explicit_variant_is_honoured_on_every_cpu() -> None:
    for flags in (AVX2, SKYLAKE_SP, ""):
        assert resolve_variant("int8", flags.split()) == "int8"
        assert resolve_variant("fp32", flags.split()) == "fp32"


def test_flags_are_read_from_cpuinfo_on_x86_and_arm(tmp_path: Path) -> None:
    assert parse_flags(X86_CPUINFO.format(flags=SKYLAKE_SP)) == frozenset(SKYLAKE_SP.split())
    assert "asimddp" in parse_flags(ARM_CPUINFO)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(X86_CPUINFO.format(flags=AVX2))
    assert cpu_flags(cpuinfo) == frozenset(AVX2.split())
    assert cpu_flags(tmp_path / "absent") == frozenset()  # not Linux: no flags, so `auto` means fp32
    assert parse_flags("processor\t: 0\n") == frozenset()


def test_auto_builds_the_embedder_of_this_cpus_variant(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", embedding_variant="auto", model_cache_dir=tmp_path / "models"
    )
    embedder = create_embedder(settings)
    assert isinstance(embedder, MiniLMEmbedder)
    assert embedder.variant == choose_variant(cpu_flags())
    assert embedder.model_id.endswith("@fp32" if embedder.variant == "fp32" else "@int8-dyn-v1")


@pytest.mark.parametrize("flags", [AVX2, SKYLAKE_SP])
def test_the_chosen_variant_keeps_the_cosine_bar(flags: str, tmp_path: Path) -> None:
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    expected = np.asarray(data["vectors"], np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    embedder = MiniLMEmbedder(resolve_variant("auto", flags.split()), cache_dir=tmp_path, batch_size=8)
    batched = (embedder.embed_documents(data["texts"]) * expected).sum(axis=1)
    single = (np.stack([embedder.embed_query(text) for text in data["texts"]]) * expected).sum(axis=1)
    assert batched.mean() >= 0.995 and single.mean() >= 0.995, (batched.mean(), single.mean())
