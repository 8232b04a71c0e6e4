"""Image collections as encoded bytes: a folder tree, or a CSV catalog that points at files.

Neither source decodes: the `decode.image` operator does that downstream, so a file with
corrupt contents still comes out as an `ImageItem` (and dead-letters there). What these sources
dead-letter is what they cannot read: a dangling link, a permission error, something that is not
a regular file, a file over `max_bytes`, or a catalog row that does not name a readable file.
A missing folder or catalog, or a catalog without its id/image column, raises `SourceError`.
"""

from __future__ import annotations

import csv
import os
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from senri.codec import DEFAULT_MAX_BYTES
from senri.connectors.base import Clock, ClosableSource, dead_letter
from senri.errors import SourceError
from senri.records import DeadLetter, ImageItem

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")


class _UnreadableError(Exception):
    pass


def _read_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file, or `_UnreadableError` saying why (never blocks on a FIFO)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise _UnreadableError(f"{path} is not a regular file")
        if info.st_size > max_bytes:
            raise _UnreadableError(
                f"{path} has {info.st_size} bytes, over the limit of {max_bytes}"
            )
        return path.read_bytes()
    except OSError as exc:
        raise _UnreadableError(f"cannot read {path}: {exc.strerror or exc}") from exc


class ImageFolderSource(ClosableSource):
    """Every image file under `root`, in sorted order of relative path.

    `item_id` is the path relative to `root` (with ``/``), metadata holds the absolute ``path``
    and the ``category`` (name of the parent folder). `extensions` are matched case-insensitively.

        >>> src = ImageFolderSource("catalog/", "products")  # doctest: +SKIP
        >>> [item.item_id for item in src][:2]  # doctest: +SKIP
        ['shoes/a.jpg', 'shoes/b.png']
    """

    output_type: type = ImageItem
    stage = "source.images"

    def __init__(
        self,
        root: str | os.PathLike[str],
        collection: str,
        recursive: bool = True,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Clock = time.time,
    ) -> None:
        super().__init__()
        self.root = Path(root)
        if not self.root.exists():
            raise SourceError(f"image folder {str(root)!r} does not exist")
        if not self.root.is_dir():
            raise SourceError(f"image folder {str(root)!r} is not a directory")
        if isinstance(extensions, str) or not extensions:
            raise SourceError(
                f"extensions must be a non-empty list like ['.jpg']; got {extensions!r}"
            )
        self.collection = collection
        self.stream_id = collection
        self.recursive = recursive
        self.extensions = tuple(
            e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions
        )
        self.max_bytes = max_bytes
        self._clock = clock

    def __repr__(self) -> str:
        return f"ImageFolderSource({str(self.root)!r}, {self.collection!r})"

    def paths(self) -> list[Path]:
        """Matching files relative to `root`, sorted; directory links are not followed."""
        found: list[Path] = []
        for folder, dirs, files in os.walk(self.root):
            if not self.recursive:
                dirs.clear()
            base = Path(folder).relative_to(self.root)
            found += [base / f for f in files if f.lower().endswith(self.extensions)]
        return sorted(found, key=lambda p: p.parts)

    def __iter__(self) -> Iterator[ImageItem | DeadLetter]:
        seq = 0
        for relative in self.paths():
            if self._stop.is_set():
                return
            item_id = relative.as_posix()
            path = self.root / relative
            try:
                data = _read_file(path, self.max_bytes)
            except _UnreadableError as exc:
                key = f"{self.collection}:{item_id}"
                yield dead_letter(
                    self.collection, key, self.stage, str(exc), exc.__cause__, self._clock
                )
                continue
            category = relative.parent.name or self.root.resolve().name
            metadata = {"path": str(path.resolve()), "category": category}
            yield ImageItem(self.collection, item_id, seq, data, metadata)
            seq += 1


class CsvCatalogSource(ClosableSource):
    """Rows of a CSV catalog, each naming an image file; the other columns become metadata.

    Image paths are taken relative to `base_dir` (default: the CSV's folder) unless absolute.
    A bad row (wrong number of fields, empty id or image, duplicate id, unreadable file) yields a
    `DeadLetter` naming its row number (the header is row 1, as in a spreadsheet) and the source
    goes on. Metadata also gets the resolved ``path`` unless the catalog has a column of that name.

        >>> src = CsvCatalogSource("items.csv", "products", image_column="file")  # doctest: +SKIP
        >>> next(iter(src)).metadata["category"]  # doctest: +SKIP
        'shoes'
    """

    output_type: type = ImageItem
    stage = "source.catalog"

    def __init__(
        self,
        csv_path: str | os.PathLike[str],
        collection: str,
        id_column: str = "id",
        image_column: str = "image",
        base_dir: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Clock = time.time,
    ) -> None:
        super().__init__()
        self.csv_path = Path(csv_path)
        if not self.csv_path.is_file():
            raise SourceError(f"catalog {str(csv_path)!r} does not exist or is not a file")
        self.collection = collection
        self.stream_id = collection
        self.id_column = id_column
        self.image_column = image_column
        self.base_dir = Path(base_dir) if base_dir is not None else self.csv_path.parent
        self.max_bytes = max_bytes
        self._clock = clock
        self._check_header(self._read_header())

    def __repr__(self) -> str:
        return f"CsvCatalogSource({str(self.csv_path)!r}, {self.collection!r})"

    def _read_header(self) -> list[str]:
        try:
            with self.csv_path.open(newline="", encoding="utf-8-sig") as fh:
                return next(csv.reader(fh), [])
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise SourceError(
                f"catalog {str(self.csv_path)!r}: cannot read its header: {exc}"
            ) from exc

    def _check_header(self, header: list[str]) -> None:
        missing = [c for c in (self.id_column, self.image_column) if c not in header]
        if missing:
            present = ", ".join(repr(c) for c in header) or "none"
            raise SourceError(
                f"catalog {str(self.csv_path)!r} has no column {' or '.join(map(repr, missing))} "
                f"(columns present: {present}); set id_column / image_column to match"
            )

    def __iter__(self) -> Iterator[ImageItem | DeadLetter]:
        seq = 0
        row_number = 1
        seen: set[str] = set()
        try:
            with self.csv_path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.reader(fh)
                header = next(reader, [])
                self._check_header(header)
                for row_number, row in enumerate(reader, start=2):
                    if self._stop.is_set():
                        return
                    if not any(field.strip() for field in row):
                        continue  # blank line
                    try:
                        item = self._item(header, row, row_number, seq, seen)
                    except _UnreadableError as exc:
                        yield self._dead(row_number, f"row {row_number}: {exc}", exc.__cause__)
                        continue
                    yield item
                    seq += 1
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            yield self._dead(
                row_number + 1, f"catalog unreadable after row {row_number}: {exc}", exc
            )

    def _item(
        self, header: list[str], row: list[str], number: int, seq: int, seen: set[str]
    ) -> ImageItem:
        if len(row) != len(header):
            raise _UnreadableError(f"has {len(row)} fields but the header has {len(header)}")
        fields = dict(zip(header, row, strict=True))
        item_id = fields[self.id_column].strip()
        image = fields[self.image_column].strip()
        if not item_id:
            raise _UnreadableError(f"empty {self.id_column!r}")
        if not image:
            raise _UnreadableError(f"empty {self.image_column!r}")
        if item_id in seen:
            raise _UnreadableError(f"duplicate {self.id_column} {item_id!r}")
        path = Path(image) if Path(image).is_absolute() else self.base_dir / image
        data = _read_file(path, self.max_bytes)
        seen.add(item_id)
        metadata = {k: v for k, v in fields.items() if k not in (self.id_column, self.image_column)}
        metadata.setdefault("path", str(path.resolve()))
        return ImageItem(self.collection, item_id, seq, data, metadata)

    def _dead(self, row_number: int, reason: str, exc: BaseException | None) -> DeadLetter:
        key = f"{self.collection}:row{row_number}"
        return dead_letter(self.collection, key, self.stage, reason, exc, self._clock)
