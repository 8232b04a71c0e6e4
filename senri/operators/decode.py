"""Decoding operators: encoded media in, arrays out; undecodable input fails loudly.

A failure raises `DecodeError` with the reason, which the runtime turns into a dead letter.
"""

from __future__ import annotations

from dataclasses import replace

from senri.codec import decode_jpeg
from senri.engine.operator import BatchPolicy, Operator, Stateless, register
from senri.records import ImageItem


@register
class DecodeImage(Stateless, Operator[ImageItem, ImageItem]):
    """Decode an `ImageItem`'s bytes (JPEG, PNG, WebP, BMP) into an RGB array.

    `max_pixels` refuses decompression bombs before they fill memory.
    """

    name = "decode.image"
    input_type = ImageItem
    output_type = ImageItem
    batch = BatchPolicy(max_size=16, max_wait_ms=10)

    def __init__(self, max_pixels: int = 40_000_000) -> None:
        self.max_pixels = max_pixels

    def process(self, items: list[ImageItem]) -> list[ImageItem]:
        out = []
        for item in items:
            image = decode_jpeg(item.data)
            pixels = image.shape[0] * image.shape[1]
            if pixels > self.max_pixels:
                raise ValueError(
                    f"{item.item_id}: {pixels} pixels exceeds max_pixels={self.max_pixels}"
                )
            out.append(replace(item, image=image))
        return out
