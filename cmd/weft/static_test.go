//go:build linux

package main_test

import (
	"debug/elf"
	"testing"
)

// TestBinaryIsStatic checks that the weft binary the CLI tests run, built
// with CGO_ENABLED=0 as the README says, is one static binary: no dynamic
// loader, no shared libraries.
func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(weftBin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s asks for a dynamic loader (PT_INTERP): it is not static", weftBin)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) > 0 {
		t.Errorf("%s links shared libraries %v", weftBin, libs)
	}
}
