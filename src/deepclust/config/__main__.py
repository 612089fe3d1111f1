"""The config layer's command: ``python -m deepclust.config upgrade [WORKDIR]`` rewrites the params
that an older version recorded for finished jobs in today's spelling, values unchanged, so that
results built before it are not rerun (:func:`deepclust.config.rerun.upgrade_metadata`).
"""

from __future__ import annotations

from deepclust import cli
from deepclust.config.rerun import upgrade_metadata


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m deepclust.config", __doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    upgrade = sub.add_parser(
        "upgrade",
        help="rewrite the params recorded by an older version in today's spelling (values unchanged)",
    )
    upgrade.add_argument("workdir", nargs="?", default=".", help="the workflow's directory")
    upgrade.add_argument(
        "--schema", help="the config schema (default: the package's, deepclust/config/schema.yaml)"
    )
    args = parser.parse_args(argv)

    def body() -> None:
        rewritten, read = upgrade_metadata(args.workdir, args.schema)
        print(f"{args.workdir}/.snakemake/metadata: {rewritten} of {read} records rewritten")

    return cli.run(parser, body)


if __name__ == "__main__":
    raise SystemExit(main())
