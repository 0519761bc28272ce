"""`python -m cartridge_lsp`: the same as the `cartridge-lsp` command."""

from cartridge_lsp.cli import main

raise SystemExit(main())
