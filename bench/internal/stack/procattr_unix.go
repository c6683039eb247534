//go:build unix && !linux

package stack

import "syscall"

// childAttr puts the server in its own process group, so a Ctrl-C at the
// terminal reaches only the driver, which then stops the server with
// SIGTERM itself. (Only Linux can also kill it if the driver dies first.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
