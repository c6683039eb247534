// Package identity makes the fake person behind a synthetic account: names,
// username, an address at a controlled email domain, a phone number that
// rings nobody, a coherent postal address and time zone, and a random
// password. It touches no database: accounts stores what it makes.
//
// An Identity is derived deterministically from a Seed (environment, role,
// slot, generation) with gofakeit, pinned in go.mod and held by a golden
// file, so the same seed always yields the same person. Passwords come from
// crypto/rand, never from the seed.
package identity
