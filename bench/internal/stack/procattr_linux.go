package stack

import "syscall"

// childAttr puts the server in its own process group, so a Ctrl-C at the
// terminal reaches only the driver, which then stops the server with
// SIGTERM itself; and asks the kernel to kill the server if the driver dies
// without doing so. (Pdeathsig fires when the forking OS thread exits; the
// Go runtime keeps its threads for the life of the process here.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
