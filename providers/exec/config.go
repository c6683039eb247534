package exec

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/providers"
)

const maxTimeout = 10 * time.Minute

// envName is what an environment variable's name may be.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// inherited are the variables of Understudy's own environment that the
// program gets.
var inherited = []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"}

// Settings is the JSON settings document of an exec app.
type Settings struct {
	// Command is the program and its arguments. Required.
	Command []string `json:"command"`
	// Timeout bounds each run, as a Go duration ("10s"). Defaults to "10s".
	Timeout string `json:"timeout"`
	// Env adds environment variables. Defaults to none.
	Env map[string]string `json:"env"`
	// Dir is the program's working directory. Defaults to Understudy's.
	Dir string `json:"dir"`
}

// Config configures a Program. Validate names a bad field by its place in
// the app's config ("settings.command", "secrets.NAME"), since that is
// where a user fixes it.
type Config struct {
	// App names the app in errors and logs. Defaults to the base name of
	// Command[0].
	App string
	// Command is the program and its arguments; Command[0] is looked up in
	// PATH when it has no slash, else taken from Dir, and must be an
	// executable file. Required.
	Command []string
	// Timeout bounds each run (at most 10m). Defaults to 10s.
	Timeout time.Duration
	// Env adds environment variables. Defaults to none.
	Env map[string]string
	// Secrets are passed as environment variables of their names, and
	// redacted from messages. Defaults to none.
	Secrets map[string]string
	// Dir is the program's working directory. Defaults to Understudy's.
	Dir string
	// Logger receives a line per run (op, duration, exit code) at debug
	// level. Defaults to discarding.
	Logger *slog.Logger
}

// WithDefaults returns c with its unset optional fields filled.
func (c Config) WithDefaults() Config {
	if c.App == "" && len(c.Command) > 0 {
		c.App = filepath.Base(c.Command[0])
	}
	c.App = cmp.Or(c.App, "exec app")
	c.Timeout = cmp.Or(c.Timeout, 10*time.Second)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c
}

// Validate returns a *providers.ConfigError naming the first bad field.
func (c Config) Validate() error {
	if c.Dir != "" {
		if fi, err := os.Stat(c.Dir); err != nil || !fi.IsDir() {
			return &providers.ConfigError{Field: "settings.dir", Detail: fmt.Sprintf("%s is not a directory", c.Dir)}
		}
	}
	if _, err := c.program(); err != nil {
		return err
	}
	if c.Timeout <= 0 || c.Timeout > maxTimeout {
		return &providers.ConfigError{Field: "settings.timeout", Detail: fmt.Sprintf("must be above 0 and at most %s (it is %s)", maxTimeout, c.Timeout)}
	}
	for name := range c.Env {
		if !envName.MatchString(name) {
			return &providers.ConfigError{Field: "settings.env." + name, Detail: "is not a valid environment variable name"}
		}
	}
	for name := range c.Secrets {
		_, dup := c.Env[name]
		switch {
		case !envName.MatchString(name):
			return &providers.ConfigError{Field: "secrets." + name, Detail: "is not a valid environment variable name (secrets are passed as environment variables)"}
		case dup:
			return &providers.ConfigError{Field: "secrets." + name, Detail: "is also set in settings.env"}
		}
	}
	return nil
}

// program resolves Command[0] to the absolute path of an executable file.
func (c Config) program() (string, error) {
	bad := func(format string, args ...any) error {
		return &providers.ConfigError{Field: "settings.command", Detail: fmt.Sprintf(format, args...)}
	}
	if len(c.Command) == 0 || c.Command[0] == "" {
		return "", bad("is required: the program and its arguments, such as [\"/usr/local/bin/adapter\"]")
	}
	name := c.Command[0]
	if !strings.Contains(name, string(filepath.Separator)) {
		path, err := osexec.LookPath(name)
		if err != nil {
			return "", bad("%s is not an executable file in PATH", name)
		}
		name = path
	} else if !filepath.IsAbs(name) {
		name = filepath.Join(c.Dir, name)
	}
	path, err := filepath.Abs(name)
	if err != nil {
		return "", bad("%s: %v", name, err)
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return "", bad("%s does not exist", path)
	case fi.IsDir():
		return "", bad("%s is a directory", path)
	case fi.Mode().Perm()&0o111 == 0:
		return "", bad("%s is not executable", path)
	}
	return path, nil
}

// environ is the program's environment.
func (c Config) environ() []string {
	var env []string
	for _, name := range inherited {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	for name, v := range c.Env {
		env = append(env, name+"="+v)
	}
	for name, v := range c.Secrets {
		env = append(env, name+"="+v)
	}
	return env
}

// Factory builds an exec app from its settings and secrets; see Settings.
// Its errors are *providers.ConfigError.
func Factory(ctx context.Context, cfg providers.Config) (providers.App, error) {
	var s Settings
	if err := providers.DecodeSettings(cfg.Settings, &s); err != nil {
		return nil, err
	}
	c := Config{App: cfg.App, Command: s.Command, Env: s.Env, Secrets: cfg.Secrets, Dir: s.Dir, Logger: cfg.Logger}
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil || d <= 0 {
			return nil, &providers.ConfigError{Field: "settings.timeout", Detail: fmt.Sprintf("is not a positive duration such as \"10s\": %q", s.Timeout)}
		}
		c.Timeout = d
	}
	p, err := New(c)
	if err != nil {
		return nil, err
	}
	return p, nil
}
