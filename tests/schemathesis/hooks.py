"""Schemathesis hooks for .ci/schemathesis.

Generated requests carry no `Idempotency-Key`: Schemathesis would send one key with many bodies,
which the server rightly refuses (422 idempotency_key_reused), and a replayed answer would hide the
request it stands for. tests/api/idempotency.rs covers the header on both databases.
"""

import schemathesis


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.headers:
        case.headers.pop("Idempotency-Key", None)
