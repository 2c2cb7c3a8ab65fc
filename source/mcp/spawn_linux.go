package mcp

import "syscall"

// upstreamProcAttr puts the upstream in its own process group and has the
// kernel kill it when weft dies (see spawn.go).
func upstreamProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
