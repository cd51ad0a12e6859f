"""Reading export files: folders and zip archives member by member, JSON whole or streamed.

Every failure becomes an ImportFormatError whose message names the file and the position, so
`pulse import` can stop with one clear line instead of a traceback. A member's bytes are counted
as they are read (and, zipped, as they are decompressed) against the limits in
bot.importers.limits, whatever the archive's headers say.
"""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from bot.importers.json_reading import (
    JSON_STREAM_ERRORS,
    READ_SIZE,
    CountingReader,
    describe_json_stream_error,
    stream_items,
)
from bot.importers.limits import (
    MAX_MEMBER_BYTES,
    MAX_RATIO,
    MAX_WHOLE_BYTES,
    RATIO_FROM,
    ImportFormatError,
    ImportLimitError,
    MiB,
    limit_note,
)

_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError)


def open_file(path: Path) -> BinaryIO:
    """PATH opened for reading bytes; a file that cannot be read is an ImportFormatError."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot be read: {exc.strerror}") from None


class BoundedReader:
    """A member's bytes, stopped with ImportLimitError past LIMIT or, zipped, past MAX_RATIO."""

    def __init__(
        self,
        raw: BinaryIO,
        label: str,
        limit: int,
        compressed: int | None = None,
        expected: int = READ_SIZE,
    ) -> None:
        self._raw = raw
        self._label = label
        self._limit = limit
        self._compressed = compressed
        self._expected = expected  # the size the header or the folder gives: not trusted
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        """Read up to SIZE bytes (all that is left when SIZE is negative)."""
        if size is None or size < 0:
            parts = []
            want = self._expected + 1  # most often all there is, in one read
            while data := self.read(want):
                parts.append(data)
                want = READ_SIZE
            return b"".join(parts)
        # One byte past the limit tells a file that ends there from one that goes on.
        data = self._raw.read(min(size, self._limit + 1 - self.position))
        self.position += len(data)
        if self.position > self._limit:
            raise ImportLimitError(
                f"{self._label}: " + limit_note(f"larger than {_size(self._limit)} unpacked")
            )
        if (
            self._compressed is not None
            and self.position > RATIO_FROM
            and self.position > MAX_RATIO * max(self._compressed, 1)
        ):
            raise ImportLimitError(
                f"{self._label}: "
                + limit_note(
                    f"unpacks to more than {MAX_RATIO} times its packed size "
                    f"({self._compressed:,} bytes), as a zip bomb does"
                )
            )
        return data

    def close(self) -> None:
        """Close the underlying stream."""
        self._raw.close()

    def __enter__(self) -> BoundedReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _size(limit: int) -> str:
    return f"{limit // MiB:,} MiB" if limit % MiB == 0 else f"{limit:,} bytes"


class ExportSource:
    """A folder or a zip archive holding an export, read one member at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._sizes: dict[str, int] = {}
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file():
                    self._sizes[file.relative_to(path).as_posix()] = file.stat().st_size
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except _ZIP_ERRORS as exc:
                raise ImportFormatError(
                    f"{path}: not a readable zip archive ({exc}); a truncated download "
                    "loses the archive's index at its end: download the export again"
                ) from None
            except OSError as exc:
                raise ImportFormatError(f"{path}: cannot be read: {exc.strerror}") from None
            for info in self._zip.infolist():
                if not info.is_dir():
                    self._sizes[info.filename] = info.file_size
        else:
            raise ImportFormatError(f"{path}: no such file or folder")

    def close(self) -> None:
        """Close the archive, if one is open."""
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> ExportSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def names(self) -> list[str]:
        """Every file inside, as POSIX paths relative to the export."""
        return list(self._sizes)

    def size(self, name: str) -> int:
        """A member's size in bytes (uncompressed)."""
        return self._sizes[name]

    def label(self, name: str) -> str:
        """How a member is named in messages: the archive or folder, then the member."""
        return f"{self.path}:{name}" if self._zip is not None else str(self.path / name)

    def read(self, name: str, limit: int = MAX_WHOLE_BYTES) -> bytes:
        """A whole member of at most LIMIT bytes (the small files: channel lists, day files)."""
        with self.open(name, limit) as stream, self._reading(name):
            return stream.read()

    def open(self, name: str, limit: int = MAX_MEMBER_BYTES) -> BoundedReader:
        """A member as a binary stream that stops with ImportLimitError past LIMIT bytes.

        A zip member is also held to MAX_RATIO. Both are counted as it is decompressed, whatever
        its header says; a header that admits to more than LIMIT fails at once.
        """
        label = self.label(name)
        if self._sizes[name] > limit:  # what the header or the folder says: fail before reading
            raise ImportLimitError(
                f"{label}: " + limit_note(f"larger than {_size(limit)} unpacked")
            )
        with self._reading(name):
            if self._zip is not None:
                info = self._zip.getinfo(name)
                raw = self._zip.open(info)
                return BoundedReader(raw, label, limit, info.compress_size, info.file_size)
            raw = (self.path / PurePosixPath(name)).open("rb")
            return BoundedReader(raw, label, limit, expected=self._sizes[name])

    @contextlib.contextmanager
    def _reading(self, name: str) -> Iterator[None]:
        """Turn a damaged archive or an unreadable file into an error naming the member."""
        try:
            yield
        except _ZIP_ERRORS as exc:
            raise ImportFormatError(
                f"{self.label(name)}: the archive is damaged here ({exc})"
            ) from None
        except OSError as exc:
            raise ImportFormatError(f"{self.label(name)}: cannot be read: {exc}") from None

    def stream_json(
        self, name: str, prefix: str, limit: int = MAX_MEMBER_BYTES, *, of: str = ""
    ) -> Iterator:
        """Stream the objects under PREFIX of a member, with errors naming member and byte.

        With OF (say "messages") the document must be a list: anything else is an unknown layout.
        """
        label = self.label(name)
        with self.open(name, limit) as raw:
            reader = CountingReader(raw)
            index = 0
            try:
                for index, item in enumerate(stream_items(reader, prefix), 1):  # noqa: B007
                    yield item
            except ImportFormatError as exc:
                if str(exc).startswith(label):
                    raise
                raise type(exc)(f"{label}: {exc}") from None
            except JSON_STREAM_ERRORS as exc:
                raise ImportFormatError(
                    f"{label}: {describe_json_stream_error(exc)}, after item {index:,}, "
                    f"within its first {reader.position:,} bytes"
                ) from None
            except _ZIP_ERRORS as exc:
                raise ImportFormatError(f"{label}: the archive is damaged here ({exc})") from None
            if of and reader.guard.first != ord("["):
                found = "an object" if reader.guard.first == ord("{") else "no list"
                raise ImportFormatError(
                    f"{label}: expected a list of {of}, found {found} (unknown layout)"
                )
