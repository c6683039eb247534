package lang

import (
	"testing"

	"github.com/understudy-dev/understudy/spec"
)

func TestLangMoved(t *testing.T) {
	t.Parallel()
	_, cfg, diags := loadFiles(t, map[string]string{mainFile: `role "shopper" {
  environment = "production"
  name        = "buyer"
}

role "sellers" {
  for_each    = toset(["a"])
  environment = "production"
}

moved {
  from = role.buyer
  to   = role.shopper
}

moved {
  from = role.seller
  to   = role.sellers["a"]
}

moved {
  from = role.shopper
  to   = role.nobody
}

moved {
  from = role.old
  to   = app.old
}

moved {
  from = role.buyer
  to   = role.shopper
}

moved {
  from = role.gone
  to   = role.nobody
}

moved {
  from = role.older
  to   = role.seller
}

moved {
  from = "role.x"
  to   = role.shopper
}
`}, Options{})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 22, column: 10, summary: "Moved object still declared", detailHas: "role.shopper is declared at"},
		wantDiag{file: mainFile, line: 28, column: 10, summary: "Invalid moved block", detailHas: "role.old cannot move to app.old"},
		wantDiag{file: mainFile, line: 32, column: 10, summary: "Duplicate moved block", detailHas: "role.buyer is already moved at"},
		wantDiag{file: mainFile, line: 38, column: 10, summary: "Moved to an undeclared address", detailHas: "No block declares role.nobody"},
		wantDiag{file: mainFile, line: 47, column: 10, summary: "Invalid address", detailHas: `<kind>.<label>["key"]`})
	want := []spec.Moved{{From: "role.buyer", To: "role.shopper"}, {From: "role.older", To: "role.seller"}, {From: "role.seller", To: `role.sellers["a"]`}}
	if got := cfg.Desired.Moved; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("moved %+v, want %+v", got, want)
	}
}
