// Package tagging keeps synthetic activity out of the numbers a business
// reads: it marks each synthetic identity with tags, publishes the
// exclusion list of every identity a synthetic account may appear under to
// analytics destinations, and records what each destination acknowledged.
//
// # Publishers
//
// A destination's vendor client is a Publisher, with up to four optional
// capabilities: Marker (set the tags on each identity), Lister (keep a
// vendor-side list of exactly the synthetic identities), Filterer (install
// the project-level filter that removes them) and Verifier (check
// afterwards that they are absent from the filtered view). Each vendor has
// its own subpackage with an httptest fake of its documented API in a
// <vendor>test package, and every publisher passes the conformance suite in
// publishertest. Publishers send through a Sender: batches within the
// vendor's limits, retries with jittered backoff on 429 and 5xx honouring
// Retry-After, every answer read, and an Ack after each accepted batch so a
// run that stops halfway resumes without sending an accepted item twice.
//
// # Services and tables
//
// Service (destination.go, sync.go, jobs.go, stats.go) attaches, tests and
// syncs destinations; Exclusions (exclusions.go) reads and forgets the
// exclusion lists. tagging owns destinations, destination_acks, sync_runs,
// exclusions and exclusion_lists; the lists are written by database
// triggers on package accounts' accounts table and package apps'
// account_refs table (migration 000012), in the transaction that writes
// them. head.go holds the reads of the lists: ReadHead (and readHeads, for
// every environment), the head of an environment's list, the one place it
// is read (by the readers here, a sync's start, the scheduler's Due and
// package isolation), and FindListed and EachListed, the identifiers on it
// with their accounts' roles, for isolation's check and signed list. A
// SyntheticUser is one synthetic account as one destination knows it: what
// a publisher marks, lists and filters.
//
// Destinations store their environment's id; its name comes from package
// accounts: Get sends accounts.QueueEnvironmentID with its own statement
// in one round trip, List takes it from ReadHead, RunStats reads the names
// with accounts.NamesOf. Where one statement must read accounts' tables
// with this package's, it names package accounts' views instead of its
// tables: the head, the runs' list and SyncByID (the sync job's read, so
// a sync costs no extra round trip) join accounts.EnvironmentDirectory;
// FindListed, EachListed and a sync's identities join
// accounts.AccountDirectory for an account's role. This package names no
// table of another's.
//
// # Runs with nothing to send
//
// A destination records the list version its last ok run started from
// (destinations.synced_list_version, with the actions it did and the ids
// it then held). A run that finds the list still at that version sends
// nothing and reads neither the list nor the acknowledgements: every input
// of what a destination should hold is an identifier on the list, whose
// addition or forgetting moves the version, and only runs write the
// acknowledgements. A run that compares forgets the recorded version when
// it starts and records its own only if it ends ok while the destination's
// revision (bumped by every Update) is the one it read; so a failed,
// partial or abandoned run, and an update, make the next run compare.
// SyncOptions.Full compares in any case.
//
// # Time
//
// ServiceConfig.Now is the clock of runs, tests and destinations' changes;
// statements take its time as a parameter (the database's when nil). A
// Sender reads Retry-After dates and the time left before its context's
// deadline on its Now.
package tagging
