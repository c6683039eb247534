package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ciCell is one spec command in one situation, as CI meets it.
type ciCell struct {
	code   int
	stdout string // what stdout holds; "" for nothing at all
	stderr string // what the one message on stderr says; "" for nothing at all
}

// ciFixture is what a cell runs against: a server (or where none
// listens), a token, a spec directory and a saved plan, in a workspace and
// an environment of its own.
type ciFixture struct {
	s                     *testServer
	url, token            string
	dir, planFile, broken string
	workspace, env        string
}

func (f ciFixture) run(t *testing.T, argv ...string) cliResult {
	t.Helper()
	return (&testServer{URL: f.url}).cli(t, f.token, argv...)
}

// admin runs a setup step against the live server.
func (f ciFixture) admin(t *testing.T, argv ...string) {
	t.Helper()
	if r := f.s.cli(t, f.s.Admin, argv...); r.Code != 0 {
		t.Fatalf("setup %q: code %d\n%s\n%s", argv, r.Code, r.Stdout, r.Stderr)
	}
}

// Every spec command exits 0 on success, 1 on every error (an unreachable
// server, a refused token and an unknown flag included), 2 only for
// changes under plan -detailed-exitcode and 3 only for fmt -check; it
// prints its error once, as a diagnostic, never a panic or an
// "understudy:" line.
func TestSpecCommandsExitCodesInCI(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})

	type row struct {
		name  string
		argv  func(f ciFixture) []string
		setup func(t *testing.T, f ciFixture, scenario string)
		cells map[string]ciCell
	}
	apply := func(t *testing.T, f ciFixture) {
		f.admin(t, "apply", "-auto-approve", "-input=false", "-workspace", f.workspace, f.dir)
	}
	savePlan := func(t *testing.T, f ciFixture) {
		f.admin(t, "plan", "-workspace", f.workspace, "-out", f.planFile, f.dir)
	}
	down := ciCell{1, "", "cannot reach the Understudy server"}
	unauth := ciCell{1, "", "Error: The server refused the token"}
	flag := func(cmd string) ciCell {
		return ciCell{1, "", "understudy " + cmd + " does not accept the flag -parallelism"}
	}
	syntax := ciCell{1, "", "Invalid expression"}
	// fmt ends 2 on a file it cannot parse, as terraform fmt does.
	fmtSyntax := ciCell{2, "", "Invalid expression"}
	notAPlan := ciCell{1, "", "is not a plan file saved by `understudy plan -out`"}
	rows := []row{{
		name: "plan",
		argv: func(f ciFixture) []string {
			return []string{"plan", "-detailed-exitcode", "-input=false", "-workspace", f.workspace, f.dir}
		},
		setup: func(t *testing.T, f ciFixture, sc string) {
			if sc == "no changes" {
				apply(t, f)
			}
		},
		cells: map[string]ciCell{"server down": down, "401": unauth, "unknown flag": flag("plan"), "syntax error": syntax,
			"no changes": {0, "No changes.", ""}, "changes": {2, "Plan: 1 to add, 0 to change, 0 to destroy.", ""}},
	}, {
		name: "plan -refresh-only",
		argv: func(f ciFixture) []string {
			return []string{"plan", "-refresh-only", "-detailed-exitcode", "-workspace", f.workspace, f.dir}
		},
		setup: func(t *testing.T, f ciFixture, sc string) {
			if sc == "no changes" || sc == "changes" {
				apply(t, f)
			}
			if sc == "changes" {
				f.admin(t, "environments", "update", f.env, "--email-domain", "qa2.example.test")
			}
		},
		cells: map[string]ciCell{"server down": down, "401": unauth, "unknown flag": flag("plan"), "syntax error": syntax,
			"no changes": {0, "No changes.", ""}, "changes": {2, "qa2.example.test", ""}},
	}, {
		name: "apply DIR",
		argv: func(f ciFixture) []string {
			return []string{"apply", "-auto-approve", "-input=false", "-workspace", f.workspace, f.dir}
		},
		setup: func(t *testing.T, f ciFixture, sc string) {
			if sc == "no changes" {
				apply(t, f)
			}
		},
		cells: map[string]ciCell{"server down": down, "401": unauth, "unknown flag": flag("apply"), "syntax error": syntax,
			"no changes": {0, "No changes.", ""}, "changes": {0, "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.", ""}},
	}, {
		name: "apply PLANFILE",
		argv: func(f ciFixture) []string { return []string{"apply", "-input=false", f.planFile} },
		setup: func(t *testing.T, f ciFixture, sc string) {
			switch sc {
			case "syntax error":
				if err := os.WriteFile(f.planFile, []byte("{\"understudy_plan_format\": 2,"), 0o600); err != nil {
					t.Fatal(err)
				}
				return
			case "no changes":
				apply(t, f)
			}
			savePlan(t, f)
		},
		cells: map[string]ciCell{"server down": down, "401": unauth, "unknown flag": flag("apply"), "syntax error": notAPlan,
			"no changes": {0, "Apply complete! Resources: 0 added, 0 changed, 0 destroyed.", ""},
			"changes":    {0, "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.", ""}},
	}, {
		name: "destroy",
		argv: func(f ciFixture) []string {
			return []string{"destroy", "-auto-approve", "-input=false", "-workspace", f.workspace}
		},
		setup: func(t *testing.T, f ciFixture, sc string) {
			if sc == "changes" {
				apply(t, f)
			}
		},
		// destroy reads no spec: a syntax error cannot reach it.
		cells: map[string]ciCell{"server down": down, "401": unauth, "unknown flag": flag("destroy"),
			"no changes": {0, "No changes.", ""}, "changes": {0, "Destroy complete! Resources: 1 destroyed.", ""}},
	}, {
		name: "show",
		argv: func(f ciFixture) []string { return []string{"show", f.planFile} },
		setup: func(t *testing.T, f ciFixture, sc string) {
			switch sc {
			case "syntax error":
				if err := os.WriteFile(f.planFile, []byte("plan"), 0o600); err != nil {
					t.Fatal(err)
				}
				return
			case "no changes":
				apply(t, f)
			}
			savePlan(t, f)
		},
		// show reads the server only for how the plan's apply went: the plan
		// file is shown without it.
		cells: map[string]ciCell{"server down": {0, "1 to add", ""}, "401": {0, "1 to add", ""}, "unknown flag": flag("show"),
			"syntax error": notAPlan, "no changes": {0, "No changes.", ""}, "changes": {0, "Plan: 1 to add", ""}},
	}, {
		name: "validate",
		argv: func(f ciFixture) []string { return []string{"validate", f.dir} },
		cells: map[string]ciCell{"server down": {0, "Success!", ""}, "401": {0, "Success!", ""}, "unknown flag": flag("validate"),
			"syntax error": syntax, "no changes": {0, "Success!", ""}, "changes": {0, "Success!", ""}},
	}, {
		name: "fmt",
		argv: func(f ciFixture) []string { return []string{"fmt", f.dir} },
		cells: map[string]ciCell{"server down": {0, "", ""}, "401": {0, "", ""}, "unknown flag": flag("fmt"),
			"syntax error": fmtSyntax, "no changes": {0, "", ""}, "changes": {0, "main.understudy.hcl", ""}},
	}, {
		name: "fmt -check",
		argv: func(f ciFixture) []string { return []string{"fmt", "-check", f.dir} },
		cells: map[string]ciCell{"server down": {0, "", ""}, "401": {0, "", ""}, "unknown flag": flag("fmt"),
			"syntax error": fmtSyntax, "no changes": {0, "", ""}, "changes": {3, "main.understudy.hcl", ""}},
	}}

	n := 0
	for _, r := range rows {
		for _, sc := range []string{"server down", "401", "unknown flag", "syntax error", "no changes", "changes"} {
			want, ok := r.cells[sc]
			if !ok {
				continue
			}
			n++
			env := fmt.Sprintf("ci-%d", n)
			// One after the other: a plan lists the other workspaces'
			// objects, and is stale once one of them changes.
			t.Run(r.name+"/"+sc, func(t *testing.T) {
				src := fmt.Sprintf("environment %q {\n  email_domains = [\"qa.example.test\"]\n}\n", env)
				switch {
				case sc == "changes" && strings.HasPrefix(r.name, "fmt"):
					src = fmt.Sprintf("environment %q {\nemail_domains=[\"qa.example.test\"]\n}\n", env)
				case sc == "syntax error":
					src = fmt.Sprintf("environment %q {\n  email_domains = \n}\n", env)
				}
				dir := specDir(t, map[string]string{"main.understudy.hcl": src})
				f := ciFixture{s: s, url: s.URL, token: s.Admin, dir: dir, planFile: filepath.Join(t.TempDir(), "tfplan"),
					workspace: env, env: env}
				if r.setup != nil {
					r.setup(t, f, sc)
				}
				argv := r.argv(f)
				switch sc {
				case "server down":
					f.url = "http://127.0.0.1:1"
				case "401":
					f.token = "not-a-token"
				case "unknown flag":
					argv = append(argv[:1:1], append([]string{"-parallelism=4"}, argv[1:]...)...)
				}
				res := f.run(t, argv...)
				if res.Code != want.code {
					t.Errorf("exit code %d, want %d", res.Code, want.code)
				}
				if strings.Contains(res.Stderr, "panic") || strings.Contains(res.Stderr, "understudy:") {
					t.Errorf("stderr has a panic or an understudy: line")
				}
				if want.stderr == "" {
					if res.Stderr != "" {
						t.Errorf("stderr is not empty")
					}
				} else if !strings.Contains(res.Stderr, want.stderr) || strings.Count(res.Stderr, "Error: ") != 1 {
					t.Errorf("stderr does not hold one message saying %q", want.stderr)
				}
				if want.stdout == "" && res.Stdout != "" || !strings.Contains(res.Stdout, want.stdout) {
					t.Errorf("stdout does not hold %q", want.stdout)
				}
				if t.Failed() {
					t.Logf("%q\nstdout:\n%s\nstderr:\n%s", argv, res.Stdout, res.Stderr)
				}
			})
		}
	}
}

// apply -input=false of a directory cannot ask for yes: without
// -auto-approve it fails, having planned and changed nothing.
func TestApplyWithoutInputNeedsAutoApprove(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	for _, argv := range [][]string{{"apply", "-input=false", exampleSpec}, {"destroy", "-input=false"}} {
		r := s.cli(t, s.Admin, argv...)
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "-input=false forbids asking") || !strings.Contains(r.Stderr, "add -auto-approve") {
			t.Errorf("%q: code %d\n%s\n%s", argv, r.Code, r.Stdout, r.Stderr)
		}
	}
	if r := s.cli(t, s.Admin, "environments", "list"); r.Code != 0 || strings.Contains(r.Stdout, "production") {
		t.Fatalf("apply -input=false changed the server: %d %s", r.Code, r.Stdout)
	}
}

// A plan file changed after it was saved is refused, by show and apply,
// and nothing is changed; so is one changed and given a new digest, which
// no longer matches the plan the server holds.
func TestAnEditedPlanFileIsRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	file := filepath.Join(t.TempDir(), "tfplan")
	if r := s.cli(t, s.Admin, "plan", "-out", file, exampleSpec); r.Code != 0 {
		t.Fatalf("plan -out: %d %s", r.Code, r.Stderr)
	}
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// One byte of one change: the pool of role.buyer, 2 in the example.
	i := bytes.Index(saved, []byte(`"pool_size": 2`))
	if i < 0 {
		t.Fatalf("the plan file has no pool_size 2:\n%s", saved)
	}
	edited := bytes.Clone(saved)
	edited[i+len(`"pool_size": `)] = '9'
	if err := os.WriteFile(file, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{{"apply", file}, {"show", file}, {"show", "-json", file}} {
		r := s.cli(t, s.Admin, argv...)
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "was changed after it was saved") || strings.Count(r.Stderr, "Error: ") != 1 {
			t.Errorf("%q of an edited plan file: code %d\n%s\n%s", argv, r.Code, r.Stdout, r.Stderr)
		}
	}
	if r := s.cli(t, s.Admin, "environments", "list"); r.Code != 0 || strings.Contains(r.Stdout, "production") {
		t.Fatalf("an edited plan changed the server: %d %s", r.Code, r.Stdout)
	}

	// The same edit with its digest made again: the file no longer says
	// what the server's plan of that id does.
	var pf planFile
	if err := json.Unmarshal(edited, &pf); err != nil {
		t.Fatal(err)
	}
	if pf.Digest, err = planDigest(pf.Server, pf.Plan); err != nil {
		t.Fatal(err)
	}
	redigested, _ := json.Marshal(pf)
	if err := os.WriteFile(file, redigested, 0o600); err != nil {
		t.Fatal(err)
	}
	r := s.cli(t, s.Admin, "apply", file)
	if r.Code != 1 || !strings.Contains(r.Stderr, "does not match the plan the server holds") {
		t.Errorf("apply of a plan file edited and digested again: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "environments", "list"); r.Code != 0 || strings.Contains(r.Stdout, "production") {
		t.Fatalf("an edited plan changed the server: %d %s", r.Code, r.Stdout)
	}

	// The file as it was saved applies.
	if err := os.WriteFile(file, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := s.cli(t, s.Admin, "apply", file); r.Code != 0 || !strings.Contains(r.Stdout, "6 added") {
		t.Fatalf("apply of the file as saved: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
}

// specMaxWorkEnv sets specMaxWork in a child started as the binary, for an
// evaluation that runs long enough to be interrupted.
const specMaxWorkEnv = "UNDERSTUDY_TEST_SPEC_MAX_WORK"

// SIGTERM (and SIGINT) stops a validate that is evaluating nested for
// expressions: the signal cancels the command's context and the evaluation
// checks it.
func TestValidateStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	dir := specDir(t, map[string]string{"main.understudy.hcl": "variable \"items\" {\n  type = list(number)\n}\n\n" +
		"environment \"p\" {\n  email_domains = [for a in var.items : [for b in var.items : [for c in var.items : \"x\"]]]\n}\n"})
	items := []byte("items = [0" + strings.Repeat(", 0", 999) + "]\n")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		// The variables come through a FIFO: once the child opens it, it
		// is past main's signal handling and about to evaluate.
		fifo := filepath.Join(t.TempDir(), "items.hcl")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binary(t), "validate", "-var-file", fifo, dir)
		// Far above the default limit: without the signal it would run for
		// minutes.
		cmd.Env = append(os.Environ(), asBinary+"=1", specMaxWorkEnv+"=1000000000000")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		w := openWriter(t, fifo, exited)
		if _, err := w.Write(items); err != nil {
			t.Fatal(err)
		}
		w.Close()
		time.Sleep(200 * time.Millisecond) // into the evaluation
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatalf("%v: %v (the evaluation ended before the signal: %s)", sig, err, stderr.String())
		}
		select {
		case <-exited:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("%v: validate did not stop within a minute of the signal", sig)
		}
		if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(stderr.String(), "Error: Evaluation interrupted") ||
			!strings.Contains(stderr.String(), "main.understudy.hcl line 6") || strings.Contains(stderr.String(), "understudy:") || stdout.Len() != 0 {
			t.Errorf("%v: exit code %d\nstdout: %s\nstderr: %s", sig, code, stdout.String(), stderr.String())
		}
	}
}

// openWriter opens the FIFO path for writing once the child has opened it
// for reading, failing if the child exits first or takes over 30s.
func openWriter(t *testing.T, path string, exited <-chan error) *os.File {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			return f
		}
		select {
		case err := <-exited:
			t.Fatalf("the child exited before reading the variables: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child did not open the variables file: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
