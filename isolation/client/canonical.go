package client

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Canonical returns the form under which an identifier (an account id, an
// email, a username, an app ref such as "chirp:42", a distinct id) is
// compared with the isolation list. The server's check and this client
// both compare through it, so they agree on every spelling:
//
//   - Surrounding white space is dropped and the text is put in Unicode
//     normal form C, for every kind: "é" typed as e and a combining accent
//     is the same identifier as the precomposed "é".
//   - An email (text around its last "@", both sides not empty) is
//     compared without case, its local part as well as its domain, as
//     nearly every mail provider does; and a plus-tag is dropped from the
//     local part, since local+tag@domain reaches the mailbox of
//     local@domain. Understudy never gives an account an address with a
//     plus-tag, so a tagged address names exactly one account.
//   - An account id (a UUID, 8-4-4-4-12 hexadecimal digits) is compared
//     without case, as RFC 9562 says UUIDs are.
//   - Any other identifier (a username, an app ref, a distinct id) keeps
//     its case: an app or an analytics vendor may tell "Ab" from "ab".
//
// Canonical of a canonical identifier is itself, and it returns its
// argument without allocating when that is already canonical.
func Canonical(id string) string {
	id = toNFC(strings.TrimSpace(id))
	if at := strings.LastIndexByte(id, '@'); at > 0 && at < len(id)-1 {
		local, domain := id[:at], id[at:]
		if plus := strings.IndexByte(local, '+'); plus > 0 {
			local = local[:plus]
			id = local + domain
		}
		return lowerNFC(id)
	}
	if isUUID(id) {
		return strings.ToLower(id)
	}
	return id
}

// lowerNFC lower-cases s, which is in normal form C, and keeps it there.
func lowerNFC(s string) string {
	l := strings.ToLower(s)
	if l == s {
		return l
	}
	return toNFC(l)
}

// toNFC returns s in Unicode normal form C; ASCII text is, as it is.
func toNFC(s string) string {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return norm.NFC.String(s)
		}
	}
	return s
}

// isUUID reports whether s is a UUID in its text form, of either case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
