//go:build !unix

package stack

import "syscall"

// childAttr has nothing to add off Unix: a Ctrl-C may reach the server too,
// which then shuts down on its own.
func childAttr() *syscall.SysProcAttr { return nil }
