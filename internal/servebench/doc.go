// Package servebench is `make bench-serve` (scripts/bench-serve.sh): it
// runs the built `bks serve` against the project's GitHub fake and AWS
// emulator, both started here on 127.0.0.1 with a seeded account whose
// keys are revoked (revoke = true), and measures
//
//   - push-to-revocation latency: pushes, each carrying a key of its own,
//     delivered at a steady rate; the latency of one is from the start of
//     its webhook POST to the emulator's last IAM write on the key's user
//     (the revocation done);
//   - a burst: deliveries sent within a window, each a push of one commit
//     (every tenth with a key), some of them replays of an accepted one;
//     every answer must be 202, 200 (a replay) or 503 with Retry-After;
//     after the queue drains, every accepted push has exactly one check
//     run and, with a key, exactly one revocation (two IAM writes), and
//     nothing refused has any.
//
// It reports the figures, the peak RSS of the bks process (VmHWM) and the
// size of its database as a Markdown section. It is a measurement, never a
// test: nothing here is timed against a threshold except the report's
// statement of the goal.
package servebench
