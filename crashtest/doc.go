// Package crashtest kills Klaxon with SIGKILL in the middle of an alert
// storm, again and again, and proves from the database and from the phone
// provider's own log what the README promises of a restart:
//
//   - every alert a monitor was answered 2xx for is in the store, in the
//     incident the answer named, with the content of the last answered post;
//   - escalation carries on across restarts: every incident's first page is
//     queued with it, every contact step that fell due was paged or, when
//     several were overdue at once, passed over for the latest (as Klaxon
//     means to after downtime), every page reached the provider unless a
//     resolve cancelled it first, and every incident still triggered was
//     paged by the last run;
//   - delivery is at least once and not much more: a page reaches the
//     provider again only across a kill, so no page more than kills+1 times
//     and no more duplicates than kills times the pages the runner keeps in
//     flight.
//
// It runs the real klaxon binary, built by the test, against a fake SMS and
// voice gateway on wall-clock time. A kill -9 leaves the kernel's page cache
// intact, so this proves the order of commits, answers and sends, not that
// fsync reaches the disk (a power cut would be needed for that).
package crashtest
