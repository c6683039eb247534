package spec_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/spec"
)

// uiLines parses a machine-readable UI stream line by line: each line
// must be one JSON object with the keys every message has.
func uiLines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d)$`)
	var msgs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", len(msgs)+1, err, sc.Bytes())
		}
		for _, k := range []string{"@level", "@message", "@module", "@timestamp", "type"} {
			if s, ok := m[k].(string); !ok || s == "" {
				t.Errorf("line %d: %s is %v\n%s", len(msgs)+1, k, m[k], sc.Bytes())
			}
		}
		if m["@module"] != "understudy.ui" || !stamp.MatchString(m["@timestamp"].(string)) {
			t.Errorf("line %d: module %v timestamp %v", len(msgs)+1, m["@module"], m["@timestamp"])
		}
		msgs = append(msgs, m)
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		t.Error("the stream does not end with a newline")
	}
	return msgs
}

// types lists the messages' types.
func types(msgs []map[string]any) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m["type"].(string))
	}
	return out
}

func uiStream(t *testing.T, p spec.Plan) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	s := spec.NewUIStream(&buf, func() time.Time { return planTime })
	if err := s.Version("1.4.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Plan(p); err != nil {
		t.Fatal(err)
	}
	return uiLines(t, buf.Bytes())
}

func TestUIStreamOfAPlan(t *testing.T) {
	t.Parallel()
	msgs := uiStream(t, mixedPlan())
	want := "version planned_change planned_change planned_change planned_change planned_change change_summary"
	if got := strings.Join(types(msgs), " "); got != want {
		t.Fatalf("types %s\nwant  %s", got, want)
	}
	if v := msgs[0]; v["terraform"] != "1.4.0" || v["ui"] != "1.2" || v["@level"] != "info" || v["@timestamp"] != "2026-11-23T12:00:00.000000000Z" {
		t.Errorf("version %v", v)
	}
	changes := map[string]map[string]any{}
	for _, m := range msgs[1 : len(msgs)-1] {
		c := m["change"].(map[string]any)
		r := c["resource"].(map[string]any)
		changes[r["addr"].(string)] = c
		if r["addr"] != r["resource_type"].(string)+"."+r["resource_name"].(string) || m["@message"] != r["addr"].(string)+": Plan to "+c["action"].(string) {
			t.Errorf("planned_change %v", m)
		}
	}
	for addr, action := range map[string]string{"understudy_environment.staging": "update", "understudy_role.buyer": "update",
		"understudy_role.seller": "update", "understudy_app.chirp": "replace", "understudy_app.old": "delete"} {
		if c := changes[addr]; c == nil || c["action"] != action {
			t.Errorf("%s: %v, want action %s", addr, c, action)
		}
	}
	if changes["understudy_app.chirp"]["reason"] != "cannot_update" || changes["understudy_app.old"]["reason"] != "delete_because_no_resource_config" {
		t.Errorf("reasons %v / %v", changes["understudy_app.chirp"], changes["understudy_app.old"])
	}
	sum := msgs[len(msgs)-1]
	counts := sum["changes"].(map[string]any)
	s := mixedPlan().Summary
	if counts["add"] != float64(s.Add) || counts["change"] != float64(s.Change) || counts["remove"] != float64(s.Destroy) ||
		counts["import"] != float64(0) || counts["operation"] != "plan" || sum["@message"] != "Plan: 1 to add, 3 to change, 2 to destroy." {
		t.Errorf("change_summary %v, want the counts of %+v", sum, s)
	}
}

func TestUIStreamDriftImportAndForget(t *testing.T) {
	t.Parallel()
	msgs := uiStream(t, driftAndChangesPlan())
	ts := types(msgs)
	if ts[0] != "version" || ts[1] != "resource_drift" || ts[len(ts)-1] != "change_summary" {
		t.Fatalf("types %v: want version, the drift, the changes, the summary", ts)
	}
	d := msgs[1]["change"].(map[string]any)
	if d["resource"].(map[string]any)["addr"] != "understudy_role.buyer" || msgs[1]["@message"] != "understudy_role.buyer: Drift detected (update)" {
		t.Errorf("drift %v", msgs[1])
	}
	msgs = uiStream(t, importForgetPlan())
	if got := strings.Join(types(msgs), " "); got != "version planned_change planned_change planned_change change_summary" {
		t.Fatalf("types %s", got)
	}
	imported, adopted, forget := msgs[1]["change"].(map[string]any), msgs[2]["change"].(map[string]any), msgs[3]["change"].(map[string]any)
	if imported["action"] != "import" || imported["importing"].(map[string]any)["id"] != "production/seller" || adopted["action"] != "update" || adopted["importing"] == nil {
		t.Errorf("imports %v / %v", imported, adopted)
	}
	if forget["action"] != "remove" || forget["resource"].(map[string]any)["addr"] != "understudy_role.legacy" {
		t.Errorf("forget %v", forget)
	}
	if c := msgs[4]["changes"].(map[string]any); c["import"] != float64(2) || c["forget"] != float64(1) {
		t.Errorf("summary %v", c)
	}
}

func TestUIStreamDiagnostic(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := spec.NewUIStream(&buf, func() time.Time { return planTime })
	d := spec.UIDiagnostic{Severity: "error", Summary: "Invalid pool_size", Detail: "must be at least 1",
		Range: &spec.UIRange{Filename: "main.understudy.hcl", Start: spec.UIPos{Line: 21, Column: 15, Byte: 300}, End: spec.UIPos{Line: 21, Column: 16, Byte: 301}}}
	if err := s.Diagnostic(d); err != nil {
		t.Fatal(err)
	}
	if err := s.Diagnostic(spec.UIDiagnostic{Severity: "warning", Summary: "Deprecated"}); err != nil {
		t.Fatal(err)
	}
	msgs := uiLines(t, buf.Bytes())
	if len(msgs) != 2 || msgs[0]["@level"] != "error" || msgs[0]["@message"] != "Error: Invalid pool_size" || msgs[1]["@level"] != "warn" {
		t.Fatalf("diagnostics %v", msgs)
	}
	got := msgs[0]["diagnostic"].(map[string]any)
	if got["severity"] != "error" || got["detail"] != "must be at least 1" || got["range"].(map[string]any)["start"].(map[string]any)["line"] != float64(21) {
		t.Errorf("diagnostic %v", got)
	}
}

// failWriter fails every write after the first n.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

// The stream stops at the writer's first error and reports it.
func TestUIStreamStopsAtAWriteError(t *testing.T) {
	t.Parallel()
	w := &failWriter{n: 2}
	s := spec.NewUIStream(w, time.Now)
	if err := s.Version("dev"); err != nil {
		t.Fatal(err)
	}
	if err := s.Plan(mixedPlan()); err == nil || err.Error() != "disk full" {
		t.Fatalf("Plan = %v, want the writer's error", err)
	}
	if err := s.Diagnostic(spec.UIDiagnostic{Severity: "error", Summary: "x"}); err == nil {
		t.Fatal("a write after the error succeeded")
	}
	if w.n != 0 {
		t.Fatalf("%d writes left", w.n)
	}
}

// lineWriter counts the writes it gets and the lines in them.
type lineWriter struct{ writes, lines, largest int }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.writes++
	w.lines += bytes.Count(p, []byte("\n"))
	w.largest = max(w.largest, len(p))
	return len(p), nil
}

// A plan of 10,000 changes is written a message at a time: one write per
// line, none holding more than one message.
func TestUIStreamWritesEachMessageAsItIsMade(t *testing.T) {
	t.Parallel()
	var changes []spec.Change
	for i := range 10000 {
		changes = append(changes, change(spec.Create, "role.r"+strconv.Itoa(i), "production/r"+strconv.Itoa(i), nil, buyer(1)))
	}
	w := &lineWriter{}
	s := spec.NewUIStream(w, func() time.Time { return planTime })
	if err := s.Version("dev"); err != nil {
		t.Fatal(err)
	}
	if err := s.Plan(newPlan(spec.ModeNormal, changes...)); err != nil {
		t.Fatal(err)
	}
	if w.writes != 10002 || w.lines != 10002 || w.largest > 1024 {
		t.Fatalf("%d writes of %d lines, the largest %d bytes: want one write per message", w.writes, w.lines, w.largest)
	}
}

// A change a moved block made names the old address as
// previous_resource; one that does nothing else is planned as a
// "move", as Terraform streams it, even when it also imports.
func TestUIStreamMoves(t *testing.T) {
	t.Parallel()
	moved := noOp(`role.team["buyer"]`, "production/buyer", buyer(2))
	moved.PreviousAddress = "role.buyer"
	movedAndUpdated := change(spec.Update, "role.shopper", "production/shopper", buyer(2), buyer(3),
		spec.AttributeChange{Name: "pool_size", Before: 2, After: 3})
	movedAndUpdated.PreviousAddress = "role.customer"
	unchanged := noOp("role.seller", "production/seller", buyer(1))
	msgs := uiStream(t, newPlan(spec.ModeNormal, moved, movedAndUpdated, unchanged))
	if got := strings.Join(types(msgs), " "); got != "version planned_change planned_change change_summary" {
		t.Fatalf("types %s: want a planned_change for each moved object and none for the unchanged one", got)
	}
	for i, want := range []struct{ addr, prev, action, message string }{
		{`understudy_role.team["buyer"]`, "understudy_role.buyer", "move", `understudy_role.team["buyer"]: Plan to move`},
		{"understudy_role.shopper", "understudy_role.customer", "update", "understudy_role.shopper: Plan to update"},
	} {
		m := msgs[i+1]
		c := m["change"].(map[string]any)
		prev, _ := c["previous_resource"].(map[string]any)
		if c["resource"].(map[string]any)["addr"] != want.addr || c["action"] != want.action || m["@message"] != want.message ||
			prev == nil || prev["addr"] != want.prev || prev["resource_type"] != "understudy_role" || prev["implied_provider"] != "understudy" {
			t.Errorf("planned_change %d: %v, want %s moved from %s, action %s", i, m, want.addr, want.prev, want.action)
		}
	}
	if prev := msgs[1]["change"].(map[string]any)["previous_resource"].(map[string]any); prev["resource_name"] != "buyer" || prev["resource_key"] != nil {
		t.Errorf("previous_resource %v", prev)
	}
	moved.Importing = true
	msgs = uiStream(t, newPlan(spec.ModeNormal, moved))
	if c := msgs[1]["change"].(map[string]any); c["action"] != "move" || c["importing"] == nil {
		t.Errorf("moved and imported: %v, want action move with importing", c)
	}
}
