"""What the hardware runs fastest: the dtype for the network's dense and output layers."""
from __future__ import annotations

import torch


def fast_head_dtype(device: torch.device) -> torch.dtype | None:
    """bfloat16 where its matmuls are native (CUDA; CPUs with AVX-512 BF16 or AMX), else None
    (float32). See `TranslitNet`'s `head_dtype`."""
    if device.type == "cuda":
        return torch.bfloat16
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        pass
    return torch.bfloat16 if {"avx512_bf16", "amx_bf16"} & set(flags.split()) else None


__all__ = ["fast_head_dtype"]
