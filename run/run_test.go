package run_test

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/run"
)

func fieldsOf(fs []understudy.FieldError) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Field)
	}
	return out
}

func TestNamingValidate(t *testing.T) {
	t.Parallel()
	ok := []run.Naming{
		{},
		{RunID: "9876543210", Flow: "checkout", CIURL: "https://github.com/o/r/actions/runs/1/job/2", Version: "v1.2.3"},
		{Flow: "signup/email: happy path #2"},
		{Flow: "a", CIURL: "http://ci.internal:8080/job/7"},
		{Flow: strings.Repeat("f", run.MaxFlow)},
		{RunID: strings.Repeat("é", run.MaxRunID)}, // characters, not bytes
	}
	for _, n := range ok {
		if f := n.Validate(""); len(f) != 0 {
			t.Errorf("%+v: %+v, want valid", n, f)
		}
	}
	for _, c := range []struct {
		n    run.Naming
		want string
	}{
		{run.Naming{RunID: strings.Repeat("1", run.MaxRunID+1)}, "run.run_id"},
		{run.Naming{RunID: "12\n34"}, "run.run_id"},
		{run.Naming{Flow: strings.Repeat("f", run.MaxFlow+1)}, "run.flow"},
		{run.Naming{Flow: "_other"}, "run.flow"},
		{run.Naming{Flow: "checkout "}, "run.flow"},
		{run.Naming{Flow: "check\tout"}, "run.flow"},
		{run.Naming{Flow: "<script>"}, "run.flow"},
		{run.Naming{CIURL: "javascript:alert(1)"}, "run.ci_url"},
		{run.Naming{CIURL: "ftp://ci.example.test/1"}, "run.ci_url"},
		{run.Naming{CIURL: "https://"}, "run.ci_url"},
		{run.Naming{CIURL: "/relative/path"}, "run.ci_url"},
		{run.Naming{CIURL: "https://user:secret@ci.example.test/1"}, "run.ci_url"},
		{run.Naming{CIURL: "https://ci.example.test/a b"}, "run.ci_url"},
		{run.Naming{CIURL: "https://ci.example.test/" + strings.Repeat("a", run.MaxURL)}, "run.ci_url"},
		{run.Naming{Version: strings.Repeat("v", run.MaxVersion+1)}, "run.version"},
		{run.Naming{Version: "v1\x00"}, "run.version"},
	} {
		if got := fieldsOf(c.n.Validate("run.")); len(got) != 1 || got[0] != c.want {
			t.Errorf("%+v: fields %v, want %s", c.n, got, c.want)
		}
	}
}

func TestReportValidate(t *testing.T) {
	t.Parallel()
	links := make([]run.Link, run.MaxLinks)
	for i := range links {
		links[i] = run.Link{Name: "screenshot", URL: "https://ci.example.test/s.png"}
	}
	ok := []run.Report{
		{Outcome: run.Passed},
		{Outcome: run.Failed, Message: "expected 3\n\tgot 2\r\n", Test: "cart › adds three", Links: links},
		{Outcome: run.Errored, Message: strings.Repeat("m", run.MaxMessage)},
	}
	for _, r := range ok {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v, want valid", r.Outcome, err)
		}
	}
	for _, c := range []struct {
		r    run.Report
		want []string
	}{
		{run.Report{}, []string{"outcome"}},
		{run.Report{Outcome: run.Abandoned}, []string{"outcome"}},
		{run.Report{Outcome: "skipped"}, []string{"outcome"}},
		{run.Report{Outcome: run.Failed, Message: strings.Repeat("m", run.MaxMessage+1)}, []string{"message"}},
		{run.Report{Outcome: run.Failed, Message: "bell\a"}, []string{"message"}},
		{run.Report{Outcome: run.Failed, Test: "a\nb"}, []string{"test"}},
		{run.Report{Outcome: run.Failed, Test: strings.Repeat("t", run.MaxTest+1)}, []string{"test"}},
		{run.Report{Outcome: run.Failed, Links: append(links, links[0])}, []string{"links"}},
		{run.Report{Outcome: run.Failed, Links: []run.Link{{Name: "", URL: "https://ci.example.test/"}}}, []string{"links[0].name"}},
		{run.Report{Outcome: run.Failed, Links: []run.Link{{Name: "ok", URL: "https://ci.example.test/"}, {Name: "x", URL: "file:///etc/passwd"}}}, []string{"links[1].url"}},
		{run.Report{Outcome: "", Message: "no outcome", Links: []run.Link{{Name: strings.Repeat("n", run.MaxLinkName+1), URL: "data:text/html,x"}}},
			[]string{"links[0].name", "links[0].url", "outcome"}},
	} {
		err := c.r.Validate()
		e, ok := err.(*understudy.Error)
		if !ok || e.Code != understudy.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", c.r.Outcome, err)
			continue
		}
		if got := fieldsOf(e.Fields); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%+v: fields %v, want %v", c.r, got, c.want)
		}
	}
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	for o, want := range map[run.Outcome][2]bool{run.Passed: {true, true}, run.Failed: {true, true}, run.Errored: {true, true},
		run.Abandoned: {false, true}, "": {false, false}, "skipped": {false, false}} {
		if o.Reported() != want[0] || o.Valid() != want[1] {
			t.Errorf("%q: reported %v valid %v, want %v", o, o.Reported(), o.Valid(), want)
		}
	}
}
