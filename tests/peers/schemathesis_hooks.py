"""Loaded by tests/api/openapi.rs (SCHEMATHESIS_HOOKS): skill uploads are
`application/zip` bodies, sent as the raw bytes schemathesis generates for
them (mostly not zips: the gateway's documented 400)."""

import schemathesis

schemathesis.serializer.alias("application/zip", "application/octet-stream")
