//go:build !unix

package exec

import osexec "os/exec"

// ownGroup leaves cmd as it is: without process groups, cancelling the
// context kills the program only (exec.CommandContext's default).
func ownGroup(cmd *osexec.Cmd) {}

// killGroup does nothing without process groups.
func killGroup(cmd *osexec.Cmd) {}
