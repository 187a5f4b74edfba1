"""Schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

The document lets `q`, `o` and `p` each hold 8192 characters; percent-encoded, four-byte
characters make that up to about 98 KB per parameter. The HTTP server (Hummingbird over
SwiftNIO's HTTP/1 parser) refuses a request head over 80 KiB before the application sees it,
with a 400 that has no body (and closes the connection), which the document cannot describe.
Generated queries stay under that limit; everything else is sent as drawn.
"""

from urllib.parse import urlencode

import schemathesis

# The request head limit, less room for the method, path, version and headers.
MAX_ENCODED_QUERY = 64 * 1024


@schemathesis.hook
def filter_query(ctx, query):
    if not query:
        return True
    try:
        encoded = urlencode(query, doseq=True)
    except Exception:
        return True
    return len(encoded) <= MAX_ENCODED_QUERY
