//! Port of CPython's `Lib/test/test_asyncio/test_events.py` (see `docs/conformance.md`).
