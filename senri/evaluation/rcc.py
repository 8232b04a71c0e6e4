"""Read files out of a Qt resource bundle (``.rcc``), as GCompris ships its photos and sounds.

Debian's ``gcompris-qt-data`` keeps each activity's resources in one binary ``.rcc`` file
rather than as loose files. The format (Qt's ``rcc`` tool, versions 1 to 3) is a header, a tree
of nodes, a table of UTF-16 names and the data; a file's data may be zlib-compressed
(``qCompress``: a 4-byte length, then the zlib stream). Zstandard-compressed entries (Qt 6
``--compress-algo zstd``) are reported, not read::

    files = read_rcc(Path("/usr/share/gcompris-qt/rcc/memory-sound.rcc"))
    files["gcompris/src/activities/memory-sound/resource/LRBark_1_LA_cut.ogg"]  # bytes
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

_DIRECTORY, _ZLIB, _ZSTD = 0x02, 0x01, 0x04


class RccError(ValueError):
    """A file that is not a Qt resource bundle, or one this reader cannot read."""


def read_rcc(path: Path, wanted: set[str] | None = None) -> dict[str, bytes]:
    """Every file in the bundle at `path` (or only the paths in `wanted`), by its path."""
    blob = path.read_bytes()
    if blob[:4] != b"qres" or len(blob) < 20:
        raise RccError(f"{path}: not a Qt resource bundle (no 'qres' header)")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    if version not in (1, 2, 3):
        raise RccError(f"{path}: Qt resource format version {version} is not supported")
    node_size = 14 if version == 1 else 22

    def name_at(offset: int) -> str:
        (length,) = struct.unpack_from(">H", blob, names + offset)
        start = names + offset + 6  # length, then a 4-byte hash
        return blob[start : start + 2 * length].decode("utf-16-be")

    files: dict[str, bytes] = {}
    pending = [(0, "")]
    while pending:
        index, prefix = pending.pop()
        node = tree + index * node_size
        name_offset, flags = struct.unpack_from(">IH", blob, node)
        name = name_at(name_offset) if index else ""
        here = f"{prefix}{name}"
        if flags & _DIRECTORY:
            count, first = struct.unpack_from(">II", blob, node + 6)
            below = f"{here}/" if here else ""
            pending.extend((child, below) for child in range(first, first + count))
            continue
        if wanted is not None and here not in wanted:
            continue
        (data_offset,) = struct.unpack_from(">I", blob, node + 10)
        (size,) = struct.unpack_from(">I", blob, data + data_offset)
        body = blob[data + data_offset + 4 : data + data_offset + 4 + size]
        if flags & _ZSTD:
            raise RccError(f"{path}: {here} is zstd-compressed, which this reader does not read")
        files[here] = zlib.decompress(body[4:]) if flags & _ZLIB else body
    if wanted is not None and (missing := sorted(wanted - set(files))):
        raise RccError(f"{path}: no {', '.join(missing)} in the bundle")
    return files
