"""Reader for the original MNIST IDX files (gzip), numpy only (no torchvision).

IDX layout (LeCun et al.): a big-endian header ``0x00 0x00 <dtype> <ndim>`` then ``ndim``
big-endian uint32 sizes, then the data in C order. MNIST uses dtype 0x08 (uint8):
images ``(N, 28, 28)`` with pixels 0..255, labels ``(N,)`` with digits 0..9.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import DatasetError

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (gzipped if the name ends in ``.gz``) into a numpy array.

    Raises:
        DatasetError: the file is missing, truncated, not gzip, or not IDX (names the file).
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetError(f"{path}: cannot read IDX file ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path}: IDX payload is {len(raw) - header} bytes, header says {expected} for shape {shape}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


@dataclass(frozen=True)
class Mnist:
    """MNIST as uint8 arrays: images ``(N, 28, 28)`` in 0..255, labels ``(N,)`` in 0..9."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_mnist(data_dir: str | os.PathLike[str]) -> Mnist:
    """Load the four original MNIST files from ``data_dir`` and check they agree."""
    data_dir = Path(data_dir)
    arrays = [read_idx(data_dir / name) for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)]
    mnist = Mnist(*arrays)
    for images, labels, name in ((mnist.train_images, mnist.train_labels, TRAIN_IMAGES),
                                 (mnist.test_images, mnist.test_labels, TEST_IMAGES)):
        if images.ndim != 3 or images.shape[0] != labels.shape[0]:
            raise DatasetError(
                f"{data_dir / name}: {images.shape} images do not match {labels.shape} labels")
    return mnist
