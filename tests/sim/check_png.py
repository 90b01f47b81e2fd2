#!/usr/bin/env python3
"""Check a screenshot of deferred-sim's SVG: not blank, with the success
green (#00a000) and the failure red (#d00000) of the arrows, and dark text.

Reads the PNG with zlib alone (no PIL): 8-bit RGB or RGBA, not interlaced,
as Chromium writes its screenshots.

usage: check_png.py FILE.png
"""
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError("unsupported PNG: depth %d colour %d interlace %d"
                         % (depth, colour, interlace))
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def main():
    width, height, bpp, rows = read_png(sys.argv[1])
    counts = {"green": 0, "red": 0, "dark": 0, "white": 0}
    for line in rows:
        for x in range(0, width * bpp, bpp):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if r > 240 and g > 240 and b > 240:
                counts["white"] += 1
            elif r < 50 and g < 50 and b < 50:
                counts["dark"] += 1
            elif r < 60 and 130 < g < 190 and b < 60:
                counts["green"] += 1
            elif 180 < r < 235 and g < 50 and b < 50:
                counts["red"] += 1
    total = width * height
    print("%dx%d: %s" % (width, height, counts))
    problems = []
    if counts["white"] == total:
        problems.append("the picture is blank")
    if counts["white"] < total // 2:
        problems.append("the background is not white")
    for colour, least in (("green", 500), ("red", 500), ("dark", 500)):
        if counts[colour] < least:
            problems.append("too little %s (%d pixels, want %d)"
                            % (colour, counts[colour], least))
    for p in problems:
        print("FAIL:", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
