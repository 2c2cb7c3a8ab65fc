//go:build !linux

package mcp

import "syscall"

// upstreamProcAttr puts the upstream in its own process group. Without
// Pdeathsig (Linux only) the watchdog alone ends it when weft dies.
func upstreamProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
