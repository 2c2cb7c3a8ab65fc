// Package mcp is weft's client for upstream MCP servers, built on the
// official Go SDK (github.com/modelcontextprotocol/go-sdk). An Upstream
// implements source.Source and source.Notifier for one server reached over
// stdio, Streamable HTTP or the legacy HTTP+SSE transport.
//
// # Supervision
//
// Start makes a first connection attempt — start the process (stdio) or
// open the HTTP session, initialize, list the tools — and returns its
// outcome, or ctx's error while the attempt goes on in the background.
// Initialize is bounded by Config.StartTimeout for a process (a first start
// through npx or uvx installs the package first) and by
// Config.ConnectTimeout over HTTP; the first tools/list by ConnectTimeout.
// While a process has not answered initialize the upstream is "starting".
// From then on a supervisor goroutine owns the connection until Close. One
// session (one process for stdio) is shared by every caller; the SDK
// multiplexes concurrent requests over it.
//
// When the session is lost — the process exits, its stdout closes or
// carries something that is not JSON-RPC, an HTTP session is gone or stops
// answering the periodic ping — the upstream turns unhealthy with the reason
// (for a process: exit status and last stderr lines), in-flight calls fail
// at once with an error wrapping source.ErrUnavailable (source.ErrProtocol
// for malformed output), and new calls fail fast the same way. The
// supervisor then reconnects: the delay starts at Config.RestartBackoff,
// doubles after every failed attempt up to Config.MaxRestartBackoff, with
// jitter in [d/2, d], and starts over once a session stayed up for 30s.
// After each successful reconnection, and whenever the server sends
// notifications/tools/list_changed, the OnToolsChanged callbacks run (one at
// a time, on a goroutine of the upstream; bursts are coalesced).
//
// An upstream that stops answering is treated the same way. After a call
// ended at its deadline, a ping bounded by Config.PingTimeout checks that
// the upstream still answers (a slow tool is fine); without an answer the
// session ends with the reason ("stopped answering") and the process is
// restarted (probe.go). A write to a process's stdin that stays blocked for
// PingTimeout (the process stopped reading its input) ends the session the
// same way, without waiting for a call to time out. Writes to a process's
// stdin end with their caller's context like every other step (pipe.go),
// so a wedged upstream never holds a call past its deadline.
//
// One message from a process is limited to MaxMessageBytes (16 MiB, the
// SDK's stdio frame limit). A larger answer fails only its own call, with
// an error wrapping source.ErrTooLarge; the session and the other calls on
// it go on (frame.go).
//
// # The tools/call hot path
//
// For a stdio upstream, Call does not go through the SDK's CallTool: weft
// writes the tools/call request itself over the SDK's connection (string
// ids "weft-N"; on protocol 2026-07-28 with the SDK's own _meta triple)
// and the frame guard takes the answer out of the stream, decoding it once
// and keeping the content blocks as raw JSON (rawcall.go). Messages that
// are not exactly such an answer stay on the SDK. For a Streamable HTTP
// upstream on a protocol before 2026-07-28, Call POSTs tools/call itself
// on the SDK's session (same client, headers, session id) and reads the
// JSON or event-stream answer once; other messages in that stream go to the
// client's own handlers, as the SDK would route them (rawhttp.go).
// 2026-07-28 HTTP sessions and the legacy SSE transport use the SDK's
// CallTool.
//
// # Processes
//
// A stdio upstream runs in its own process group, in Config.Cwd, with a
// minimal environment: the variables the MCP SDKs' launchers pass (PATH,
// HOME, USER, LOGNAME, SHELL, TERM), locale, time zone, temporary and XDG
// directories, proxies and CA settings, npm's non-secret npm_config_*,
// then those Config.InheritEnv names, then Config.Env (env.go). weft's own
// credentials never reach an upstream unless named. Its stderr is logged
// line by line (lines are bounded; secrets redacted). The process is reaped
// as soon as it exits, and any descendants left in its group are killed, so
// a crashed server leaves neither a zombie nor orphans. Upstreams also die
// with weft when weft itself is killed (kill -9): the process gets
// Pdeathsig (started from one locked OS thread, since Linux ties it to the
// forking thread), and a watchdog in its group kills the group,
// grandchildren such as the node process behind npx included, when weft's
// end of its pipe closes (spawn.go).
//
// # Shutdown
//
// Close cancels everything in flight (cancelled requests are announced to
// the server with notifications/cancelled), closes the process's stdin,
// sends SIGTERM to the whole process group, waits up to ~2s for the process
// to exit, sends SIGKILL to the group (which also catches grandchildren
// such as the node process behind npx), reaps the process and returns.
// HTTP sessions are closed with the SDK's DELETE. After Close every method
// fails with source.ErrClosed.
//
// # Secrets
//
// Header values, environment values and URL credentials or query values of
// the configuration never appear in errors, health reasons or logs, nor
// does anything shaped like a secret (password=…, token: …, Bearer …, URL
// userinfo, well-known token formats; internal/redact).
package mcp
