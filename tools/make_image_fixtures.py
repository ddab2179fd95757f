#!/usr/bin/env python3
"""Writes the image fixtures of Tests/ONNXRunVisionTests/Fixtures from ../shared/images/chelsea.png.

Run with /work/venv/bin/python (Pillow, numpy, torch, torchvision). The outputs are committed; the Swift tests
never run Python. Every reference is what Pillow/torchvision produce, so the tests compare against them:

- <name>.png / <name>.jpg   the same 64x48 crop of chelsea.png in many encodings
- <name>.rgb                Pillow's `Image.open(file).convert("RGB")` pixels, raw, 64x48x3
- rgb16.png                 16-bit RGB with arbitrary samples; rgb16.rgb is (v * 255 + 32767) // 65535 (see below)
- resize_<W>x<H>.rgb        Pillow's `Image.resize((W, H), Image.BILINEAR)` of rgb.png
- pipeline_*.f32            torchvision Resize/CenterCrop/ToTensor/Normalize of rgb.png, float32 little-endian
- manifest.json             what each file is, with sizes
"""

import io
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import torchvision.transforms as T
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "images" / "chelsea.png"
OUT = ROOT / "Tests" / "ONNXRunVisionTests" / "Fixtures"
WIDTH, HEIGHT = 64, 48


# MARK: - A minimal PNG writer (Pillow writes neither 16-bit RGB nor Adam7-interlaced PNGs)

def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path: Path, samples: np.ndarray, color_type: int, bit_depth: int, interlaced: bool = False,
              extra_chunks: list = (), width: int = 0) -> None:
    """samples: uint8 or uint16 array [H, W, channels] (channels per colour type), written big-endian; for bit
    depths under 8, bytes already packed and `width` the width in pixels (interlacing not supported then)."""
    height = samples.shape[0]
    width = width or samples.shape[1]
    dtype = ">u2" if bit_depth == 16 else "u1"

    def scanlines(image: np.ndarray) -> bytes:
        rows = []
        for row in image:
            rows.append(b"\x00" + row.astype(dtype).tobytes())  # filter type 0 (None)
        return b"".join(rows)

    if interlaced:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += scanlines(sub)
    else:
        raw = scanlines(samples)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlaced else 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    for kind, payload in extra_chunks:
        data += chunk(kind, payload)
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(data)


# MARK: - Fixtures

def save_reference(name: str, image: Image.Image) -> None:
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    (OUT / f"{name}.rgb").write_bytes(rgb.tobytes())


def main() -> None:
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} is missing")
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {"width": WIDTH, "height": HEIGHT, "pillow": Image.__version__, "files": {}}

    photo = Image.open(SOURCE).convert("RGB")
    # The cat's face: detail and colour in a small crop.
    crop = photo.crop((170, 60, 170 + WIDTH, 60 + HEIGHT))
    pixels = np.asarray(crop, dtype=np.uint8)

    def note(name: str, text: str) -> None:
        manifest["files"][name] = text

    # PNG variants written by Pillow.
    crop.save(OUT / "rgb.png")
    note("rgb.png", "8-bit RGB")
    gray = crop.convert("L")
    gray.save(OUT / "gray.png")
    note("gray.png", "8-bit gray")
    alpha = Image.fromarray(((np.indices((HEIGHT, WIDTH)).sum(0) * 3) % 256).astype(np.uint8))
    gray_alpha = Image.merge("LA", (gray, alpha))
    gray_alpha.save(OUT / "gray_alpha.png")
    note("gray_alpha.png", "8-bit gray + alpha (alpha varies)")
    rgba = crop.copy()
    rgba.putalpha(alpha)
    rgba.save(OUT / "rgba.png")
    note("rgba.png", "8-bit RGBA (alpha varies; the RGB equals rgb.png)")
    palette = crop.quantize(colors=64)
    palette.save(OUT / "palette.png")
    note("palette.png", "8-bit palette, 64 colours")
    palette.save(OUT / "palette_trns.png", transparency=3)
    note("palette_trns.png", "palette with a tRNS chunk (entry 3 transparent)")

    # PNG variants Pillow cannot write.
    write_png(OUT / "rgb_interlaced.png", pixels, color_type=2, bit_depth=8, interlaced=True)
    note("rgb_interlaced.png", "8-bit RGB, Adam7 interlaced (same pixels as rgb.png)")
    widened = pixels.astype(np.uint16) * 257
    write_png(OUT / "rgb16_widened.png", widened, color_type=2, bit_depth=16)
    note("rgb16_widened.png", "16-bit RGB holding v * 257 (same pixels as rgb.png after scaling)")
    rng = np.random.default_rng(7)
    samples16 = rng.integers(0, 65536, size=(HEIGHT, WIDTH, 3), dtype=np.uint32).astype(np.uint16)
    write_png(OUT / "rgb16.png", samples16, color_type=2, bit_depth=16, interlaced=True)
    scaled = ((samples16.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    (OUT / "rgb16.rgb").write_bytes(scaled.tobytes())
    note("rgb16.png", "16-bit RGB random samples, interlaced; rgb16.rgb = (v*255+32767)//65535 (not Pillow, "
                      "which keeps the high byte)")
    gray16 = (np.asarray(gray, dtype=np.uint16) * 257)[:, :, None]
    write_png(OUT / "gray16.png", gray16, color_type=0, bit_depth=16)
    note("gray16.png", "16-bit gray holding v * 257 (same pixels as gray.png)")
    rgba16 = np.concatenate([widened, (np.asarray(alpha, dtype=np.uint16) * 257)[:, :, None]], axis=2)
    write_png(OUT / "rgba16.png", rgba16, color_type=6, bit_depth=16)
    note("rgba16.png", "16-bit RGBA (same RGB as rgb.png)")
    gray4 = (np.asarray(gray) >> 4).astype(np.uint8)
    packed = np.zeros((HEIGHT, WIDTH // 2), dtype=np.uint8)
    packed[:] = (gray4[:, 0::2] << 4) | gray4[:, 1::2]
    # 4-bit rows are packed two samples per byte; write_png writes bytes as given.
    write_png(OUT / "gray4.png", packed[:, :, None], color_type=0, bit_depth=4, width=WIDTH)
    Image.open(OUT / "gray4.png").load()
    note("gray4.png", "4-bit gray (Pillow: v * 17)")

    crop.quantize(colors=16).save(OUT / "palette4.png", bits=4)
    note("palette4.png", "4-bit palette, 16 colours")
    gray.convert("1").save(OUT / "bilevel.png")
    note("bilevel.png", "1-bit gray (Pillow mode 1, dithered)")
    gray_alpha16 = np.stack([np.asarray(gray, dtype=np.uint16) * 257, np.asarray(alpha, dtype=np.uint16) * 257], axis=2)
    write_png(OUT / "gray_alpha16.png", gray_alpha16, color_type=4, bit_depth=16, interlaced=True)
    note("gray_alpha16.png", "16-bit gray + alpha, interlaced (same pixels as gray.png)")

    for name in ["rgb", "gray", "gray_alpha", "rgba", "palette", "palette_trns", "rgb_interlaced",
                 "rgb16_widened", "gray16", "rgba16", "gray4", "palette4", "bilevel"]:
        image = Image.open(OUT / f"{name}.png")
        if name in ("rgb16_widened", "gray16", "rgba16"):
            continue  # Pillow mis-converts 16-bit; these equal rgb.png / gray.png by construction
        save_reference(name, image)

    # JPEG variants written by Pillow (libjpeg-turbo), decoded by Pillow for the reference.
    crop.save(OUT / "baseline.jpg", quality=90)
    note("baseline.jpg", "baseline, quality 90, 4:2:0")
    crop.save(OUT / "baseline444.jpg", quality=95, subsampling=0)
    note("baseline444.jpg", "baseline, quality 95, 4:4:4")
    crop.save(OUT / "progressive.jpg", quality=90, progressive=True)
    note("progressive.jpg", "progressive, quality 90")
    gray.save(OUT / "gray.jpg", quality=90)
    note("gray.jpg", "grayscale")
    crop.convert("CMYK").save(OUT / "cmyk.jpg", quality=95)
    note("cmyk.jpg", "CMYK with an Adobe marker (inverted), as Pillow writes it")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    crop.save(OUT / "exif_rotated.jpg", quality=90, exif=exif.tobytes())
    note("exif_rotated.jpg", "baseline.jpg with EXIF orientation 6, which Image.open (and so onnxrun) ignores")
    for name in ["baseline", "baseline444", "progressive", "gray", "cmyk", "exif_rotated"]:
        save_reference(f"{name}_jpg", Image.open(OUT / f"{name}.jpg"))
    # A wider photo for decoding only the columns a resize reads: cropped JPEG decoding needs room around them.
    wide = photo.crop((60, 80, 60 + 240, 80 + 96))
    wide.save(OUT / "wide.jpg", quality=90)
    note("wide.jpg", "240x96 baseline, quality 90, 4:2:0")
    wide.save(OUT / "wide_progressive.jpg", quality=90, progressive=True)
    note("wide_progressive.jpg", "240x96 progressive, quality 90")
    wide.convert("L").save(OUT / "wide_gray.jpg", quality=90)
    note("wide_gray.jpg", "240x96 grayscale")

    # Reduced-scale decodes for --fast-decode: Pillow's draft mode is libjpeg-turbo's DCT scaling with the
    # accurate IDCT, the same as onnxrun's.
    for scale in (2, 4, 8):
        draft = Image.open(OUT / "baseline.jpg")
        draft.draft("RGB", (WIDTH // scale, HEIGHT // scale))
        save_reference(f"baseline_jpg_draft{scale}", draft)
        note(f"baseline_jpg_draft{scale}.rgb", f"baseline.jpg decoded by Pillow in draft mode at 1/{scale} scale")

    # Bilinear resizes of rgb.png: shrink (antialiased), enlarge, and mixed; 60x10, 80x20 and 50x6 shrink the
    # height much more than the width, which Pillow 13 resamples vertically first.
    for width, height in [(32, 24), (20, 15), (45, 31), (7, 5), (100, 75), (64, 100), (27, 70), (64, 20),
                          (60, 10), (80, 20), (50, 6)]:
        resized = crop.resize((width, height), Image.BILINEAR)
        (OUT / f"resize_{width}x{height}.rgb").write_bytes(np.asarray(resized, dtype=np.uint8).tobytes())
        note(f"resize_{width}x{height}.rgb", f"Pillow BILINEAR resize of rgb.png to {width}x{height}")

    # torchvision pipelines on rgb.png (Resize truncates the longer side; CenterCrop rounds half to even).
    pipelines = {
        "pipeline_imagenet_r28_c24.f32": (28, (24, 24), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        "pipeline_half_r40_c30x36.f32": (40, (30, 36), [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
        "pipeline_imagenet_r20_c24.f32": (20, (24, 24), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    }
    for name, (resize, crop_size, mean, std) in pipelines.items():
        transform = T.Compose([T.Resize(resize, interpolation=T.InterpolationMode.BILINEAR),
                               T.CenterCrop(crop_size), T.ToTensor(), T.Normalize(mean, std)])
        tensor = transform(crop).unsqueeze(0).numpy().astype("<f4")
        (OUT / name).write_bytes(tensor.tobytes())
        note(name, f"torchvision Resize({resize}), CenterCrop({crop_size}), Normalize({mean}, {std}); "
                   f"shape {list(tensor.shape)}")

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
