package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// configFlags are the flags that give an app or a destination its settings
// and secrets: --settings, --settings-file, --secret and --secret-file.
// Only the flags given on the command line are sent, so an update keeps
// the rest.
type configFlags struct {
	settings     string
	settingsFile string
	secrets      []string
	secretFiles  []string
}

// register adds the flags to cmd with the help that differs between apps
// and destinations.
func (f *configFlags) register(cmd *cobra.Command, settingsHelp, secretHelp, secretFileHelp string) {
	fs := cmd.Flags()
	fs.StringVar(&f.settings, "settings", "", settingsHelp)
	fs.StringVar(&f.settingsFile, "settings-file", "", "read the settings from this JSON file (- for standard input)")
	// StringArray, not StringSlice: a secret may hold a comma.
	fs.StringArrayVar(&f.secrets, "secret", nil, secretHelp)
	fs.StringArrayVar(&f.secretFiles, "secret-file", nil, secretFileHelp)
}

// read returns the settings and the secrets given, each nil when none of
// its flags was set. Malformed flags are usage errors that never repeat a
// secret's value.
func (f *configFlags) read(cmd *cobra.Command, stdin io.Reader) (*map[string]any, *map[string]string, error) {
	set := cmd.Flags().Changed
	settings, err := f.readSettings(set, stdin)
	if err != nil {
		return nil, nil, err
	}
	if !set("secret") && !set("secret-file") {
		return settings, nil, nil
	}
	secrets, err := f.readSecrets()
	if err != nil {
		return nil, nil, err
	}
	return settings, &secrets, nil
}

// readSettings decodes --settings or --settings-file, nil when neither is
// given. Numbers are kept as written.
func (f *configFlags) readSettings(set func(string) bool, stdin io.Reader) (*map[string]any, error) {
	var raw []byte
	switch {
	case set("settings") && set("settings-file"):
		return nil, usageErrorf("give --settings or --settings-file, not both")
	case set("settings"):
		raw = []byte(f.settings)
	case set("settings-file") && f.settingsFile == "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the settings from standard input: %w", err)
		}
		raw = b
	case set("settings-file"):
		b, err := os.ReadFile(f.settingsFile)
		if err != nil {
			return nil, usageErrorf("--settings-file: %v", err)
		}
		raw = b
	default:
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, usageErrorf("the settings are not a JSON object: %v", err)
	}
	if m == nil || dec.More() {
		return nil, usageErrorf("the settings must be one JSON object")
	}
	return &m, nil
}

// readSecrets gathers --secret and --secret-file into one map. An empty
// --secret adds nothing, so --secret= stands for no secrets.
func (f *configFlags) readSecrets() (map[string]string, error) {
	m := map[string]string{}
	for _, v := range f.secrets {
		if v == "" {
			continue
		}
		key, val, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(key) == "" {
			return nil, usageErrorf("--secret: want KEY=VALUE") // the value is not repeated: it may be the secret
		}
		m[key] = val
	}
	for _, v := range f.secretFiles {
		key, path, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(key) == "" || path == "" {
			return nil, usageErrorf("--secret-file %q: want KEY=PATH", v)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usageErrorf("--secret-file %s: %v", key, err)
		}
		s := strings.TrimSuffix(string(b), "\n")
		m[key] = strings.TrimSuffix(s, "\r")
	}
	return m, nil
}
