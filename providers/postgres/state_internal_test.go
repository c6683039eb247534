package postgres

import (
	"encoding/json"
	"errors"
	"testing"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/understudy-dev/understudy/providers"
)

// TestTheDecodedStatesCacheTellsUsersApart: a state decoded for one user
// is never the answer for another, whatever bytes the two share (a key
// made of the user and the state joined by a separator would be the same
// for user "b\x00x" with state S and user "b" with state "x\x00"+S).
func TestTheDecodedStatesCacheTellsUsersApart(t *testing.T) {
	var set Settings
	settings := `{"users_table": "users", "key_column": "handle", "synthetic_column": "is_synthetic", "columns": {"email": "email"}, "tables": []}`
	if err := providers.DecodeSettings(json.RawMessage(settings), &set); err != nil {
		t.Fatal(err)
	}
	s, err := set.validate()
	if err != nil {
		t.Fatal(err)
	}
	states, _ := lru.New[stateKey, state](cachedStates)
	a := &App{s: s, states: states}

	mine := `{"user": {"handle": "b\u0000x"}, "tables": {}}`
	if _, err := a.decodeState(providers.State(mine), "b\x00x"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.decodeState(providers.State(mine), "b\x00x"); err != nil {
		t.Fatalf("the same state for the same user, from the cache: %v", err)
	}
	if _, err := a.decodeState(providers.State("x\x00"+mine), "b"); !errors.Is(err, providers.ErrRefused) {
		t.Errorf("another user's state: %v, want ErrRefused", err)
	}
	if _, err := a.decodeState(providers.State(mine), "b"); !errors.Is(err, providers.ErrRefused) {
		t.Errorf("the same state for another user: %v, want ErrRefused", err)
	}
}
