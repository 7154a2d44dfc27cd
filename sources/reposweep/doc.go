// Package reposweep is the sweep machinery every repository host shares
// (GitHub, GitLab, the Hugging Face Hub): given a lister of repositories,
// it clones each with the git CLI (the token in the environment, never in a
// URL), --workers at a time, hands the bare clone to a history scanner,
// names each chunk's origin and links it to the host, records each
// repository's refs in a resume state, shards the set across machines, and
// counts progress. A repository that cannot be cloned or scanned is
// reported through the error handler and never stops the sweep.
//
// It exists so that the hosts' packages hold only what differs between
// them: listing through each one's API, rate limits, and link style.
package reposweep
