"""NumPy `.npy` files without NumPy: the format is a short text header plus raw bytes.

The official client reads each embedding with `np.load(..., allow_pickle=False)`. Version 1.0
of the format is enough: magic, version, a little-endian header length, a Python-literal
header dict padded with spaces to a 64-byte boundary and ended by a newline, then the data
in C order. Keeping NumPy out of the emulator keeps it a light, quick-starting process.
"""

from __future__ import annotations

import struct

MAGIC = b"\x93NUMPY"
VERSION = b"\x01\x00"
ALIGNMENT = 64  # what NumPy itself writes, so the data starts aligned for memory mapping
FLOAT32 = "<f4"


def npy_bytes(shape: tuple[int, ...], data: bytes, descr: str = FLOAT32) -> bytes:
    """A complete `.npy` file holding `data` (C order) as an array of `shape` and `descr`."""
    dims = ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "")
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}"
    unpadded = len(MAGIC) + len(VERSION) + 2 + len(header) + 1
    header += " " * (-unpadded % ALIGNMENT) + "\n"
    return MAGIC + VERSION + struct.pack("<H", len(header)) + header.encode("latin-1") + data


def float32_bytes(values: list[float]) -> bytes:
    """Little-endian float32s, the `<f4` payload of an embedding."""
    return struct.pack(f"<{len(values)}f", *values)
