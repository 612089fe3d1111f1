"""A folder of images to try the own-images path on, offline: scikit-learn's bundled digits.

``python -m deepclust.data.example_folder my_images --new new_images`` writes the 1,797 8x8
digits as grey PNG files, flat (unlabelled, as a user's photos usually are), each named with
its row and its digit (``0007_digit7.png``) so a person can check a cluster by its file names;
``--new FOLDER`` holds the last 97 digits (``--n-new``) back in a second folder, the "new
images" a finished run then places (:mod:`deepclust.placement`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepclust import cli
from deepclust.data.readers import read_digits


def write_example_folders(
    folder: str | Path, new_folder: str | Path | None = None, n_new: int = 97
) -> tuple[int, int]:
    """Write the digits as PNGs into ``folder`` (and the last ``n_new`` into ``new_folder``);
    returns how many each got. Refuses a folder that already holds files."""
    from PIL import Image

    images, labels = read_digits()
    targets = [(Path(folder), slice(0, len(images) - (n_new if new_folder else 0)))]
    if new_folder:
        targets.append((Path(new_folder), slice(len(images) - n_new, len(images))))
    for target, _ in targets:
        if target.exists() and any(target.iterdir()):
            raise ValueError(f"{target}: already holds files; name an empty or new folder")
    counts = []
    for target, rows in targets:
        target.mkdir(parents=True, exist_ok=True)
        indices = np.arange(len(images))[rows]
        for i in indices:
            pixels = np.round(images[i] * 255).astype(np.uint8)
            Image.fromarray(pixels).save(target / f"{i:04d}_digit{labels[i]}.png")
        counts.append(len(indices))
    return counts[0], counts[1] if new_folder else 0


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m deepclust.data.example_folder", __doc__)
    parser.add_argument("folder", help="where the images go (a new or empty folder)")
    parser.add_argument("--new", help="a second folder for the held-back digits")
    parser.add_argument("--n-new", type=int, default=97, help="how many to hold back")
    args = parser.parse_args(argv)

    def body() -> None:
        kept, held = write_example_folders(args.folder, args.new, args.n_new)
        print(f"{args.folder}: {kept} images" + (f"; {args.new}: {held} images" if held else ""))

    return cli.run(parser, body)


if __name__ == "__main__":
    raise SystemExit(main())
