//go:build !race

package sandbox

// raceEnabled: the race detector slows QuickJS (compiled Go) ~20×, so the
// soak runs fewer programs under it.
const raceEnabled = false
