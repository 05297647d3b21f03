"""``python -m core.train``."""

from core.config import configure

configure()  # before the command's imports load TensorFlow, so its start-up logging stays quiet

from core.train.fit import main  # noqa: E402

raise SystemExit(main())
