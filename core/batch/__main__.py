"""``python -m core.batch``."""

from core.config import configure

configure()  # before the command's imports load TensorFlow, so its start-up logging stays quiet

from core.batch.cli import main  # noqa: E402

raise SystemExit(main())
