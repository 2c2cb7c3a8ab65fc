package config

import "strconv"

// code validates the code-mode ceilings and source limits.
func (v *validator) code(c *Code) {
	v.positiveInt("code.max_memory_mb", int64(c.MaxMemoryMB))
	if c.MaxMemoryMB > 512 && !v.broken("code.max_memory_mb") {
		v.value("code.max_memory_mb", strconv.Itoa(c.MaxMemoryMB), "must be at most 512 (MiB), the sandbox's built-in maximum")
	}
	if c.MemoryMB > c.MaxMemoryMB && c.MemoryMB <= 512 && !v.broken("code.memory_mb") && !v.broken("code.max_memory_mb") {
		v.value("code.memory_mb", strconv.Itoa(c.MemoryMB), "must not exceed code.max_memory_mb ("+strconv.Itoa(c.MaxMemoryMB)+")")
	}
	v.positiveInt("code.max_calls_ceiling", int64(c.MaxCallsCeiling))
	if c.MaxCallsCeiling > 1000 && !v.broken("code.max_calls_ceiling") {
		v.value("code.max_calls_ceiling", strconv.Itoa(c.MaxCallsCeiling), "must be at most 1000, the sandbox's built-in maximum")
	}
	if c.MaxCalls > c.MaxCallsCeiling && !v.broken("code.max_calls") && !v.broken("code.max_calls_ceiling") {
		v.value("code.max_calls", strconv.Itoa(c.MaxCalls), "must not exceed code.max_calls_ceiling ("+strconv.Itoa(c.MaxCallsCeiling)+")")
	}
	if c.MaxConcurrentRunsPerClient < 0 {
		v.value("code.max_concurrent_runs_per_client", strconv.Itoa(c.MaxConcurrentRunsPerClient), "must not be negative (0 = half of the run slots or of the CPUs, whichever is smaller)")
	} else if c.MaxConcurrentRuns > 0 && c.MaxConcurrentRunsPerClient > c.MaxConcurrentRuns {
		v.value("code.max_concurrent_runs_per_client", strconv.Itoa(c.MaxConcurrentRunsPerClient), "must not exceed code.max_concurrent_runs ("+strconv.Itoa(c.MaxConcurrentRuns)+")")
	}
	v.positiveInt("code.max_source_kb", int64(c.MaxSourceKB))
	if c.MaxSourceKB > 1024 && !v.broken("code.max_source_kb") {
		v.value("code.max_source_kb", strconv.Itoa(c.MaxSourceKB), "must be at most 1024 (KiB): larger programs can keep the parser busy for seconds")
	}
	v.positiveInt("code.max_nesting", int64(c.MaxNesting))
	if c.MaxNesting > 10000 && !v.broken("code.max_nesting") {
		v.value("code.max_nesting", strconv.Itoa(c.MaxNesting), "must be at most 10000: deeper nesting can exhaust the parser's stack")
	}
}
