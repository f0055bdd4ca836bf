"""Speed and quality harnesses (import as ``ssr.bench``). Only the CLI imports this package."""
