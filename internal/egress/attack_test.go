package egress

import "testing"

// Spellings of a host that look like loopback but are not, or that hide
// another host, are refused for http; real loopback spellings are kept.
func TestAttackLoopbackLookAlikes(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		"http://127.0.0.1.evil.example/":         false,
		"http://localhost.evil.example/":         false,
		"http://2130706433/":                     false, // 127.0.0.1 as a number: not an address Go dials as loopback by name
		"http://0x7f.1/":                         false,
		"http://0177.0.0.1/":                     false,
		"http://127.1/":                          false,
		"http://0.0.0.0/":                        false,
		"http://[::]/":                           false,
		"http://127.0.0.1@evil.example/":         false,
		"http://evil.example@127.0.0.1/":         false,
		"http://evil.example%2F@127.0.0.1/":      false,
		"http://127.0.0.1%2Eevil.example/":       false,
		"HTTP://evil.example/":                   false,
		"Http://evil.example/":                   false,
		"http://127.0.0.1:80#@evil.example/":     false,
		"http://127.0.0.1/?@evil.example":        false,
		"ftp://127.0.0.1/":                       false,
		"//evil.example/":                        false,
		"http:evil.example":                      false,
		"http://[::ffff:7f00:1]/":                true, // 127.0.0.1, IPv4-mapped
		"http://[::1]:8080/":                     true,
		"http://127.0.0.2/":                      true,
		"http://LOCALHOST/":                      true,
		"HTTP://127.0.0.1/":                      true,
		"https://evil.example/":                  true,
		"HTTPS://vendor.example/prefix/":         true,
		"http://[::ffff:10.0.0.1]/":              false,
		"http://[fe80::1%25lo]/":                 false,
		"http://127.0.0.1:8080/%2e%2e/evil/path": true, // a path, still to loopback
	} {
		_, err := CheckURL(raw)
		if (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want accepted %v", raw, err, ok)
		}
	}
}
